package bus

import "errors"

// ErrRetryLater, wrapped in a handler's error, says the handler cannot
// take the message now but will later (its node is out of disk space, a
// resource it needs is paused): the message is requeued with the usual
// delay and backoff however many attempts it had, and never
// dead-lettered — it is not bad, its consumer is not ready.
var ErrRetryLater = errors.New("retry later")
