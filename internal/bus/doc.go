// Package bus is Wharf's messaging plumbing over NSQ: an in-process nsqd for
// `wharf serve` (Embedded), a fail-over publisher (Producer), a consumer with
// real parallelism, retries and a dead-letter topic (Consumer), and a durable
// buntdb-backed outbox for messages that must not be lost (Outbox).
//
// Delivery is at least once and unordered: handlers must be idempotent.
//
// # Retries and dead letters
//
// A Consumer answers every message itself (go-nsq's auto-response is off and
// go-nsq's own MaxAttempts is 0, so go-nsq never silently drops a message).
// A handler error or panic requeues the message with a delay of
// RequeueDelay*attempts (capped at MaxRequeueDelay) and puts the consumer into
// go-nsq's backoff. When a message has been attempted MaxAttempts times and
// fails again, the consumer publishes a DeadLetter envelope to the topic
// "<topic>.dead" and only then finishes the original; if that publish fails
// the message is requeued and tried again later.
//
// The envelope is JSON (see DeadLetter and DecodeDeadLetter):
//
//	{
//	  "v": 1,                              // envelope version
//	  "topic": "deploy.events",            // original topic
//	  "channel": "deploy",                 // channel that gave up
//	  "id": "0b1c2d3e4f5a6b7c",            // nsq message id
//	  "attempts": 5,                       // deliveries so far
//	  "error": "cannot apply event: ...",  // last handler error (or panic)
//	  "timestamp": "2025-01-02T03:04:05.123456789Z", // first published (nsqd)
//	  "dead_at": "2025-01-02T03:04:09.5Z", // when it was dead-lettered
//	  "nsqd": "127.0.0.1:4150",            // nsqd that delivered it
//	  "body": "eyJpZCI6MX0="               // original body, base64 (JSON []byte)
//	}
//
// # Outbox
//
// Outbox.Enqueue writes (topic, body) to a local buntdb file under a
// monotonically increasing key and returns once it is on disk. A background
// loop publishes the oldest entries in batches (MultiPublish per topic) and
// deletes them only after nsqd acknowledged; while nsqd is down it retries
// with exponential backoff and drains when nsqd is back.
package bus
