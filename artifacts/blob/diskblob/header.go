package diskblob

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// headerSize is the fixed length of the header in front of every blob file:
//
//	wharf-blob v1\n
//	sha256 <64 hex>\n
//	size <decimal>\n
//
// padded with newlines. Put writes a placeholder first and the real header
// once the body is hashed, before the fsync that precedes publication.
const headerSize = 128

const headerMagic = "wharf-blob v1\n"

func encodeHeader(sha string, size int64) []byte {
	h := make([]byte, 0, headerSize)
	h = append(h, headerMagic...)
	h = append(h, "sha256 "...)
	h = append(h, sha...)
	h = append(h, "\nsize "...)
	h = strconv.AppendInt(h, size, 10)
	h = append(h, '\n')
	for len(h) < headerSize {
		h = append(h, '\n')
	}
	return h
}

// readHeader reads and checks the header of a blob file.
func readHeader(f *os.File, key string) (blob.Info, error) {
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		if err == io.EOF {
			return blob.Info{}, corrupt(key, "shorter than its header")
		}
		return blob.Info{}, unavailable("read "+key, err)
	}
	st, err := f.Stat()
	if err != nil {
		return blob.Info{}, unavailable("stat "+key, err)
	}
	rest, ok := bytes.CutPrefix(h[:], []byte(headerMagic+"sha256 "))
	if !ok || len(rest) < 64+len("\nsize ") {
		return blob.Info{}, corrupt(key, "bad header")
	}
	sha := string(rest[:64])
	if _, err := blob.NormalizeSHA256(sha); err != nil {
		return blob.Info{}, corrupt(key, "bad checksum in header")
	}
	rest, ok = bytes.CutPrefix(rest[64:], []byte("\nsize "))
	end := bytes.IndexByte(rest, '\n')
	if !ok || end < 1 {
		return blob.Info{}, corrupt(key, "bad header")
	}
	size, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil || size < 0 {
		return blob.Info{}, corrupt(key, "bad size in header")
	}
	if st.Size() != headerSize+size {
		return blob.Info{}, corrupt(key, fmt.Sprintf("file has %d bytes, header says %d", st.Size()-headerSize, size))
	}
	return blob.Info{Key: key, Size: size, SHA256: sha, Modified: st.ModTime()}, nil
}

func corrupt(key, why string) error {
	return fmt.Errorf("cannot read %s: %w: corrupt blob file: %s", key, blob.ErrUnavailable, why)
}
