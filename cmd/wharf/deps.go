package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store/redisstore"
)

// depError names the dependency a role could not reach at start.
func depError(name, addr string, err error) error {
	return fmt.Errorf("dependency %s unreachable at %s: %w", name, addr, err)
}

// openRedis connects the shared store; Open pings, so an unreachable Redis fails here.
func (b *base) openRedis(ctx context.Context) (*redisstore.Store, error) {
	o := b.opts.Redis
	if o.Addr == "" {
		return nil, fmt.Errorf("this role needs Redis: set redis.addr (--redis-addr or WHARF_REDIS_ADDR)")
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := redisstore.Open(cctx, redisstore.Options{Addr: o.Addr, Password: o.Password, DB: o.DB, Namespace: o.Namespace,
		Logger: b.log})
	if err != nil {
		return nil, depError("redis", o.Addr, err)
	}
	b.ops.AddCheck("redis", st.Ping)
	return st, nil
}

// openProducer connects to the configured nsqd daemons and pings one.
func (b *base) openProducer(ctx context.Context) (*bus.Producer, error) {
	addrs := b.opts.NSQ.NSQD
	if len(addrs) == 0 {
		return nil, fmt.Errorf("this role needs nsqd: set nsq.nsqd (--nsq-nsqd or WHARF_NSQ_NSQD)")
	}
	sec, err := loadBusSecurity(b.opts.NSQ)
	if err != nil {
		return nil, err
	}
	b.nsqSec = sec
	if sec.TLS() || sec.Auth() {
		b.log.Info("nsqd connections secured", "nsq", sec)
	}
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: addrs, Security: sec, Logger: b.log})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Ping(cctx); err != nil {
		_ = p.Close()
		return nil, depError("nsqd", fmt.Sprint(addrs), err)
	}
	b.ops.AddCheck("nsqd", p.Ping)
	return p, nil
}

// checkLookupd pings every configured nsqlookupd over HTTP.
func (b *base) checkLookupd(ctx context.Context) error {
	for _, addr := range b.opts.NSQ.Lookupd {
		if err := pingLookupd(ctx, addr); err != nil {
			return depError("nsqlookupd", addr, err)
		}
		b.ops.AddCheck("nsqlookupd "+addr, func(ctx context.Context) error { return pingLookupd(ctx, addr) })
	}
	return nil
}

func pingLookupd(ctx context.Context, addr string) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+addr+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping answered %s", resp.Status)
	}
	return nil
}

// openMinIO connects to MinIO over tr and makes sure the artifact bucket exists.
func (b *base) openMinIO(ctx context.Context, tr http.RoundTripper) (*minio.Client, error) {
	o := b.opts.MinIO
	if o.Endpoint == "" {
		return nil, fmt.Errorf("this role needs MinIO: set minio.endpoint (--minio-endpoint or WHARF_MINIO_ENDPOINT)")
	}
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: o.Secure, Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("invalid minio.endpoint %q: %w", o.Endpoint, err)
	}
	check := func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := c.BucketExists(cctx, o.Bucket)
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	exists, err := c.BucketExists(cctx, o.Bucket)
	if err != nil {
		return nil, depError("minio", o.Endpoint, err)
	}
	if !exists {
		if err := c.MakeBucket(cctx, o.Bucket, minio.MakeBucketOptions{}); err != nil {
			return nil, fmt.Errorf("cannot create bucket %q on minio at %s: %w", o.Bucket, o.Endpoint, err)
		}
	}
	b.ops.AddCheck("minio", check)
	return c, nil
}

// loadBusSecurity loads the nsq.tls* and nsq.auth_secret_file options.
func loadBusSecurity(o config.NSQOptions) (*bus.Security, error) {
	sec, err := bus.LoadSecurity(bus.SecurityOptions{
		TLS: o.TLS, CAFile: o.TLSCAFile, CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile,
		ServerName: o.TLSServerName, AuthSecretFile: o.AuthSecretFile,
	})
	if err != nil {
		return nil, fmt.Errorf("invalid nsq.tls* or nsq.auth_secret_file: %w", err)
	}
	return sec, nil
}
