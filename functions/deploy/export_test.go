package deploy

import "context"

// SigningKeyID returns the id of the key f signs tasks with (tests only).
func (f *Function) SigningKeyID(ctx context.Context) (string, error) {
	k, err := f.signingKey(ctx)
	return k.id, err
}
