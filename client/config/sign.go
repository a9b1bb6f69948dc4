package config

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// Headers Apollo's access key signing uses.
const (
	HeaderAuthorization = "Authorization"
	HeaderTimestamp     = "Timestamp"
)

// Signature is Apollo's access key signature of a request: base64 of the
// HMAC-SHA1 under secret of timestamp (Unix milliseconds, decimal), a
// newline and pathWithQuery (the request's escaped path, then "?" and its
// raw query when it has one).
func Signature(timestamp, pathWithQuery, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + pathWithQuery))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign sets the Authorization and Timestamp headers of req as an Apollo
// client with appID's access key secret does, at time now.
func Sign(req *http.Request, appID, secret string, now time.Time) {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	req.Header.Set(HeaderAuthorization, "Apollo "+appID+":"+Signature(ts, req.URL.RequestURI(), secret))
	req.Header.Set(HeaderTimestamp, ts)
}
