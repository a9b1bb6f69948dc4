package release

import (
	"context"
	"sync"
)

// locks is a set of named mutexes whose Lock can give up when a context
// ends. An entry lives only while someone holds or waits for it.
type locks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters
}

// lock takes the mutex named key, or returns ctx's error if ctx ends
// first. The returned func releases it.
func (l *locks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyLock{}
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	select {
	case k.ch <- struct{}{}:
		return func() {
			<-k.ch
			l.drop(key, k)
		}, nil
	case <-ctx.Done():
		l.drop(key, k)
		return nil, ctx.Err()
	}
}

func (l *locks) drop(key string, k *keyLock) {
	l.mu.Lock()
	if k.refs--; k.refs == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}

// appLock takes app's short lock: placing a release, switching current,
// pruning. It is never held during a download.
func (m *Manager) appLock(app string) func() {
	unlock, _ := m.locks.lock(context.Background(), "app\x00"+app)
	return unlock
}

// installLock serialises Install calls for one app and version.
func (m *Manager) installLock(ctx context.Context, app, version string) (func(), error) {
	return m.locks.lock(ctx, "install\x00"+app+"\x00"+version)
}
