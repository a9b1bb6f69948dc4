package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrBodyTooLong is the cause inside a *ReadError when a body goes on past
// its declared size.
var ErrBodyTooLong = errors.New("body longer than its declared size")

// Body is how backends read the body given to Put: it hashes with SHA-256
// and counts what passes, holds the body to its declared size, stops when
// ctx ends, and turns the reader's own failures into *ReadError. Errors are
// sticky. A Body is not safe for concurrent use.
type Body struct {
	ctx  context.Context
	r    io.Reader
	size int64
	n    int64
	h    hash.Hash
	err  error
	eof  bool
}

// NewBody wraps r, whose length is size (-1 when unknown).
func NewBody(ctx context.Context, r io.Reader, size int64) *Body {
	return &Body{ctx: ctx, r: r, size: size, h: sha256.New()}
}

// Read implements io.Reader. It returns io.EOF only after the whole body,
// exactly size bytes when size is known, was read.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	if b.size >= 0 {
		left := b.size - b.n
		if left == 0 {
			return 0, b.probeEnd()
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := b.r.Read(p)
	if n < 0 || n > len(p) {
		n, err = 0, io.ErrNoProgress
	}
	b.h.Write(p[:n])
	b.n += int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		if b.size >= 0 && b.n < b.size {
			b.err = &ReadError{Err: fmt.Errorf("body ended after %d of %d bytes: %w", b.n, b.size, io.ErrUnexpectedEOF)}
			return n, b.err
		}
		b.eof = true
		return n, io.EOF
	default:
		b.err = &ReadError{Err: err}
		return n, b.err
	}
}

// probeEnd checks that a body of known size really ends there.
func (b *Body) probeEnd() error {
	var one [1]byte
	for empty := 0; ; empty++ {
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.err = &ReadError{Err: fmt.Errorf("%w (%d bytes)", ErrBodyTooLong, b.size)}
			return b.err
		}
		switch {
		case err == nil && empty < 100:
			continue
		case err == nil:
			b.err = &ReadError{Err: io.ErrNoProgress}
			return b.err
		case errors.Is(err, io.EOF):
			b.eof = true
			return io.EOF
		default:
			b.err = &ReadError{Err: err}
			return b.err
		}
	}
}

// N is the number of bytes read so far.
func (b *Body) N() int64 { return b.n }

// SHA256 is the lowercase hex SHA-256 of the bytes read so far.
func (b *Body) SHA256() string { return hex.EncodeToString(b.h.Sum(nil)) }

// VerifySHA256 checks that got, the SHA-256 of a whole body, is expect
// (skipped when expect is empty); the error wraps ErrChecksum.
func VerifySHA256(got, expect string) error {
	if expect == "" || got == expect {
		return nil
	}
	return fmt.Errorf("%w: body has SHA-256 %s, expected %s", ErrChecksum, got, expect)
}

// PreparePut validates the arguments every backend's Put shares and returns
// opts with ExpectSHA256 normalised to lowercase.
func PreparePut(key string, size int64, opts PutOptions) (PutOptions, error) {
	if err := CheckKey(key); err != nil {
		return opts, err
	}
	if size < -1 {
		return opts, fmt.Errorf("%w: size %d (want -1 or more)", ErrInvalid, size)
	}
	if opts.ExpectSHA256 != "" {
		s, err := NormalizeSHA256(opts.ExpectSHA256)
		if err != nil {
			return opts, err
		}
		opts.ExpectSHA256 = s
	}
	return opts, nil
}

// Commit runs opts.BeforeCommit, if any, wrapping its error.
func (o PutOptions) Commit(info Info) error {
	if o.BeforeCommit == nil {
		return nil
	}
	if err := o.BeforeCommit(info); err != nil {
		return fmt.Errorf("cannot commit %s: %w", info.Key, err)
	}
	return nil
}
