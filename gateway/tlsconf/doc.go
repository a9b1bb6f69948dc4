// Package tlsconf terminates TLS for the gateway: a certificate store that
// picks a certificate by SNI (exact names and wildcards from the
// certificates' DNS SANs, the first pair as the default for clients without
// SNI or with an unknown name), reloads changed certificate and key files
// without touching open connections, and the server tls.Config around it
// (TLS 1.2 minimum, Go's default cipher suites, ALPN http/1.1 only).
package tlsconf
