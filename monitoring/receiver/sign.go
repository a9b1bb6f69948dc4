package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook delivery.
const (
	// HeaderIdempotencyKey carries IdempotencyKey: a receiver that sees a
	// key twice may drop the second request.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderSignature carries Sign's value when the receiver has a secret.
	HeaderSignature = "X-Wharf-Signature"
)

// IdempotencyKey is the key of the delivery of one step of one case to one
// receiver: the first 32 hex digits of SHA-256 over the three, each
// length-prefixed. Retries and other notify nodes derive the same key.
func IdempotencyKey(caseID, stepKey, receiver string) string {
	h := sha256.New()
	for _, s := range []string{caseID, stepKey, receiver} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Step names one step of one case, for GroupIdempotencyKey.
type Step struct{ CaseID, StepKey string }

// GroupIdempotencyKey is the key of a message that carries several steps
// (a group flush, a combined or digest message): IdempotencyKey of the
// steps' keys sorted and joined, so the same content to the same receiver
// has the same key whatever the order.
func GroupIdempotencyKey(receiver string, steps []Step) string {
	if len(steps) == 1 {
		return IdempotencyKey(steps[0].CaseID, steps[0].StepKey, receiver)
	}
	keys := make([]string, len(steps))
	for i, s := range steps {
		keys[i] = IdempotencyKey(s.CaseID, s.StepKey, "")
	}
	sort.Strings(keys)
	return IdempotencyKey("group", strings.Join(keys, ","), receiver)
}

// Sign is the X-Wharf-Signature value of body sent at time t:
// "t=<unix seconds>,sha256=<hex HMAC-SHA256(secret, "<t>." + body)>". The
// time inside the MAC lets a receiver refuse replays.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",sha256=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body and secret, and that its
// time is within tolerance of now (0 = no time check). Receivers written
// in Go can use it as is.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "sha256":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("cannot verify signature: want t=<unix>,sha256=<hex>")
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return errors.New("cannot verify signature: mismatch")
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return errors.New("cannot verify signature: timestamp outside tolerance")
		}
	}
	return nil
}
