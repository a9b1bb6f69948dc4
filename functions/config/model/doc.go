// Package model is the pure model of Wharf's config function: the names of
// apps, clusters and namespaces, the formats a namespace holds
// (properties, json, yaml, xml, txt) with their parsers and the publish
// validation, releases and their keys, diffs between two configurations,
// and gray rules that pick clients by a stable hash, IP or label. No I/O:
// functions/config stores these values and serves them over HTTP.
//
// The wire shapes clients read are Apollo's (apolloconfig/apollo's config
// service): a namespace's configuration is a flat map of string keys to
// string values; a namespace of another format than properties holds its
// whole text under the one key "content".
package model
