// Package config is the Go client apps use to read their configuration
// from Wharf. It speaks Apollo's client protocol (the one Wharf's config
// function serves), so it also works against an Apollo config service,
// and it imports nothing of Wharf but the standard library.
//
// A Client loads each of its namespaces once at Start and then keeps them
// current: a long poll on /notifications/v2 is answered when one of them
// is published, and the client fetches the namespace again from
// /configs/{appId}/{cluster}/{namespace} with its release key (a 304
// costs nothing) and the notification messages it got, so that a server
// never answers with a release older than the notification
// (read-your-notification). Values are read with typed getters on a
// Namespace; OnChange callbacks get every changed key with its old and
// new value.
//
// # When Wharf is down
//
// A namespace the server cannot give at Start is read from the deploy
// agent's file cache (Options.ConfigDir, by default $WHARF_CONFIG_DIR,
// which the agent sets for the processes it supervises), and failing that
// from the client's own backup file (Options.BackupDir), which the client
// rewrites after every fetch. So an app starts with its last values while
// the control plane is unreachable, and gets the new ones once it is back.
//
// # Authentication
//
// With Options.Secret (an app access key's secret) every request carries
// Apollo's signature: "Authorization: Apollo {appId}:{signature}" where
// the signature is base64(HMAC-SHA1(secret, timestamp + "\n" +
// pathWithQuery)) and "Timestamp" is the Unix time in milliseconds. With
// Options.Token it carries "Authorization: Bearer {token}" instead.
package config
