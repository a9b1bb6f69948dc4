// Package receiver is the model of who gets alarms: receiver configs
// (Alertmanager-v4 webhook, generic JSON webhook with a text/template
// body, server-sent-events subscriber filter) with field validation, the
// Alertmanager webhook payload version 4, the Idempotency-Key of a
// delivery (stable per case, step and receiver) and the HMAC-SHA256 body
// signature. Pure: no I/O; the notify layer does the HTTP.
package receiver
