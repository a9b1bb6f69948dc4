package monitor

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/functions/monitor/wire"
)

// channelCount is the number of consumer channels whose backlog gates
// the pushes: the series writer's (index 0) and the judge's (index 1).
const channelCount = 2

// backlogChannel returns the topic prefix and the channel name of
// consumer channel i (0: series, 1: judge).
func backlogChannel(i int) (prefix, channel string) {
	if i == 0 {
		return wire.SeriesTopicPrefix, wire.SeriesChannel
	}
	return wire.JudgeTopicPrefix, wire.JudgeChannel
}

// backlogSample is what one or more nsqds report for the backlog
// channels, in messages (batches of points), indexed like backlogChannel.
type backlogSample struct {
	// pending: waiting in the topic (no channel yet), in the channel, in
	// flight to a consumer or deferred.
	pending [channelCount]int64
	// done: messages the channel's consumers finished since nsqd started
	// (message_count minus what is still pending); its growth between two
	// samples is the drain rate.
	done [channelCount]int64
}

// add sums another nsqd's sample into s.
func (s *backlogSample) add(o backlogSample) {
	for i := range s.pending {
		s.pending[i] += o.pending[i]
		s.done[i] += o.done[i]
	}
}

// nsqdStats is the part of nsqd's /stats?format=json (v1.x) we read.
type nsqdStats struct {
	Topics []struct {
		Name     string `json:"topic_name"`
		Depth    int64  `json:"depth"`
		Channels []struct {
			Name     string `json:"channel_name"`
			Depth    int64  `json:"depth"`
			InFlight int64  `json:"in_flight_count"`
			Deferred int64  `json:"deferred_count"`
			Messages int64  `json:"message_count"`
		} `json:"channels"`
	} `json:"topics"`
}

// parseNSQDStats reads an nsqd stats document into a sample of the shard
// topics up to shards (the topics of other shard counts and other
// components are ignored). A shard topic's own depth (messages not yet
// handed to a channel) counts only when the topic has a channel: a topic
// no consumer ever subscribed to (a cluster without a judge) must not
// hold every push back.
func parseNSQDStats(body []byte, shards int) (backlogSample, error) {
	var st nsqdStats
	var s backlogSample
	if err := json.Unmarshal(body, &st); err != nil {
		return s, fmt.Errorf("cannot read nsqd stats: %w", err)
	}
	for _, t := range st.Topics {
		ci, ok := shardTopic(t.Name, shards)
		if !ok {
			continue
		}
		_, channel := backlogChannel(ci)
		if len(t.Channels) > 0 {
			s.pending[ci] += max(0, t.Depth)
		}
		for _, c := range t.Channels {
			if c.Name != channel {
				continue
			}
			// In flight is not waiting: a consumer holds at most its
			// max_in_flight, and the judge holds batches it has judged
			// until their states are stored (write-behind) — counting
			// those refused pushes at about half the rate the judge keeps
			// up with. A consumer that falls behind stops taking more, and
			// the channel's depth grows.
			waiting := max(0, c.Depth) + max(0, c.Deferred)
			s.pending[ci] += waiting
			s.done[ci] += max(0, c.Messages-waiting-max(0, c.InFlight))
		}
	}
	return s, nil
}

// shardTopic returns the consumer channel index of a shard topic below shards.
func shardTopic(topic string, shards int) (int, bool) {
	for i := range channelCount {
		prefix, _ := backlogChannel(i)
		rest, ok := strings.CutPrefix(topic, prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n >= shards || strconv.Itoa(n) != rest {
			return 0, false
		}
		return i, true
	}
	return 0, false
}

// lookupdNodes is the part of nsqlookupd's /nodes we read (v1.x answers
// unwrapped; a "data" wrapper of older versions is read too).
type lookupdNodes struct {
	Producers []lookupdProducer `json:"producers"`
	Data      *struct {
		Producers []lookupdProducer `json:"producers"`
	} `json:"data"`
}

type lookupdProducer struct {
	Broadcast string   `json:"broadcast_address"`
	HTTPPort  int      `json:"http_port"`
	Topics    []string `json:"topics"`
}

// parseLookupdNodes returns the HTTP addresses of the nsqds that have at
// least one of the shard topics up to shards.
func parseLookupdNodes(body []byte, shards int) ([]string, error) {
	var n lookupdNodes
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("cannot read nsqlookupd nodes: %w", err)
	}
	producers := n.Producers
	if n.Data != nil {
		producers = append(producers, n.Data.Producers...)
	}
	var out []string
	for _, p := range producers {
		if p.Broadcast == "" || p.HTTPPort <= 0 || p.HTTPPort > 65535 {
			continue
		}
		for _, t := range p.Topics {
			if _, ok := shardTopic(t, shards); ok {
				out = append(out, net.JoinHostPort(p.Broadcast, strconv.Itoa(p.HTTPPort)))
				break
			}
		}
	}
	return out, nil
}
