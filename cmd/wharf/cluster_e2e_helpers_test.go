package main

import (
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

// testCluster is what the multi-node roles run on: Redis, nsqlookupd, an nsqd
// registered with it, MinIO, and the environment that points a role at
// them.
type testCluster struct {
	redis   *testenv.Redis
	lookupd *testenv.NSQLookupd
	nsqd    *testenv.NSQD
	minio   *testenv.MinIO
	env     []string
}

// startCluster starts a cluster's dependencies until the test ends.
func startCluster(t *testing.T) testCluster {
	t.Helper()
	c := testCluster{redis: testenv.StartRedis(t), lookupd: testenv.StartNSQLookupd(t)}
	c.nsqd = testenv.StartNSQD(t, testenv.NSQDOptions{LookupdTCPAddrs: []string{c.lookupd.Addr}})
	c.minio = testenv.StartMinIO(t)
	c.env = []string{
		"WHARF_REDIS_ADDR=" + c.redis.Addr, "WHARF_NSQ_NSQD=" + c.nsqd.Addr, "WHARF_NSQ_LOOKUPD=" + c.lookupd.HTTPAddr,
		"WHARF_MINIO_ENDPOINT=" + c.minio.Addr, "WHARF_MINIO_ACCESS_KEY=" + c.minio.AccessKey, "WHARF_MINIO_SECRET_KEY=" + c.minio.SecretKey,
	}
	return c
}
