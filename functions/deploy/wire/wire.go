// Package wire is the contract between the deploy function and the host
// agents: NSQ topic names, the task and event messages, and the host
// heartbeat the agents send over HTTP. Both sides import it; neither
// imports the other.
//
//	deploy ── SignedTask (JSON, Ed25519) ──► NSQ deploy.host.<host id> ──► agent
//	agent  ── GET /api/v1/agents/task-keys (agent token) ──► deploy: the public keys to verify them
//	agent  ── SignedEvent (JSON, Ed25519, through the agent's outbox) ──► NSQ deploy.events ──► deploy
//	agent  ── PUT /api/v1/agents/hosts/{id} (Host with the agent's public key, agent token, every HeartbeatEvery) ──► deploy
//	agent  ── GET /api/v1/apps/{app}/artifacts/{version}/download (agent token) ──► artifacts
//	agent  ── PUT|DELETE /api/v1/services/{app}/instances/{id} (agent token) ──► gateway registry
package wire

import "time"

// Topic and channel names.
const (
	// TopicEvents carries every agent's task events to the deploy function.
	TopicEvents = "deploy.events"
	// ChannelDeploy is the deploy function's channel on TopicEvents.
	ChannelDeploy = "deploy"
	// ChannelAgent is an agent's channel on its host topic.
	ChannelAgent = "agent"
)

// HostTopic is the NSQ topic of one host's tasks.
func HostTopic(hostID string) string { return "deploy.host." + hostID }

// Heartbeats of hosts.
const (
	// HeartbeatEvery is how often an agent sends its Host.
	HeartbeatEvery = 3 * time.Second
	// HostTTL is how long a host counts as alive after its last heartbeat
	// (three missed heartbeats and a margin); the deploy function marks a
	// host whose heartbeat expired down and fails its tasks at its next
	// tick, so an agent that dies is "lost" 7-11 s later, within the 15 s
	// (the deploy planner's AgentLostAfter) the deploy promises.
	HostTTL = 10 * time.Second
	// HostPath is the heartbeat endpoint (PUT, agent scope); the id in the
	// path must equal Host.ID.
	HostPath = "/api/v1/agents/hosts/"
)

// Host is an agent's heartbeat: who it is, where, and what it runs.
type Host struct {
	ID       string   `json:"id"`
	Room     string   `json:"room,omitempty"`
	Labels   []string `json:"labels,omitempty"`
	Capacity int      `json:"capacity,omitempty"`
	// Agent is the agent's build version.
	Agent string `json:"agent,omitempty"`
	// Advertise is the host part of the addresses the agent registers
	// its instances on; the server pins it to the host's binding (the
	// heartbeat's source address when empty) and refuses others.
	Advertise string `json:"advertise,omitempty"`
	// PublicKey is the agent's Ed25519 public key (32 bytes, base64 in
	// JSON), which its events are signed with (SignedEvent). It is fixed
	// when the host is bound (an agent of the previous release sends
	// none; its first heartbeat with one records it); another key is a
	// 409 until an admin releases the host.
	PublicKey []byte `json:"public_key,omitempty"`
	// Apps is what runs on the host: app → its current release.
	Apps map[string]AppState `json:"apps,omitempty"`
	// Busy is the task in progress, if any.
	Busy *Task `json:"busy,omitempty"`
	// Seen is set by the server: when the heartbeat arrived.
	Seen time.Time `json:"seen,omitzero"`
}

// AppState is one app on a host.
type AppState struct {
	Version   string   `json:"version"`
	Previous  string   `json:"previous,omitempty"`
	Instances []string `json:"instances,omitempty"` // host:port of the web instances
	Healthy   bool     `json:"healthy"`
}
