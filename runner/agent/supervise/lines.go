package supervise

import "bytes"

// MaxLineBytes is the longest line a LineFunc gets; a longer one comes
// in pieces of this size.
const MaxLineBytes = 4 << 10

// LineFunc receives one line of a process's output, without its newline,
// and the stream it came on ("stdout" or "stderr"). It is called from the
// goroutine that copies that stream, so it must not block: a slow
// LineFunc holds the pipe and, once its buffer is full, the process. line
// is only valid during the call.
type LineFunc func(stream string, line []byte)

// lineSplitter cuts a stream's chunks into lines for a LineFunc, keeping
// an unfinished line (at most MaxLineBytes) until its end comes.
type lineSplitter struct {
	stream string
	fn     LineFunc
	buf    []byte
}

// write passes p's complete lines on and keeps the rest.
func (s *lineSplitter) write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := MaxLineBytes - len(s.buf)
			if len(p) < room {
				s.buf = append(s.buf, p...)
				return
			}
			s.buf = append(s.buf, p[:room]...)
			s.flush()
			p = p[room:]
			continue
		}
		if len(s.buf)+i > MaxLineBytes {
			room := MaxLineBytes - len(s.buf)
			s.buf = append(s.buf, p[:room]...)
			s.flush()
			p = p[room:]
			continue
		}
		s.buf = append(s.buf, p[:i]...)
		s.emit()
		p = p[i+1:]
	}
}

// flush passes an unfinished line on (at the end of the stream, or when
// it reached MaxLineBytes).
func (s *lineSplitter) flush() {
	if len(s.buf) > 0 {
		s.emit()
	}
}

func (s *lineSplitter) emit() {
	line := bytes.TrimSuffix(s.buf, []byte{'\r'})
	s.fn(s.stream, line)
	s.buf = s.buf[:0]
}
