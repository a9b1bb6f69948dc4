package config

import (
	"encoding/json"
	"net/url"
	"strings"
)

// DefaultCluster and DefaultNamespace are Apollo's defaults.
const (
	DefaultCluster   = "default"
	DefaultNamespace = "application"
)

// InitialNotificationID is the notification id of a namespace the client
// has not been notified of yet.
const InitialNotificationID int64 = -1

// Release is a namespace as /configs answers it (Apollo's ApolloConfig).
// Namespaces in a format other than properties have one key, "content",
// holding the whole text.
type Release struct {
	AppID          string            `json:"appId"`
	Cluster        string            `json:"cluster"`
	NamespaceName  string            `json:"namespaceName"`
	Configurations map[string]string `json:"configurations"`
	ReleaseKey     string            `json:"releaseKey"`
}

// Notification is one entry of a /notifications/v2 request or answer
// (Apollo's ApolloConfigNotification).
type Notification struct {
	NamespaceName  string    `json:"namespaceName"`
	NotificationID int64     `json:"notificationId"`
	Messages       *Messages `json:"messages,omitempty"`
}

// Messages are the notification ids a client has seen, by
// "appId+cluster+namespace" (Apollo's ApolloNotificationMessages). The
// client sends them back with /configs so that the server answers with a
// release at least as new as what it was notified of.
type Messages struct {
	Details map[string]int64 `json:"details"`
}

// ServiceNode is one config service node /services/config answers
// (Apollo's ServiceDTO).
type ServiceNode struct {
	AppName     string `json:"appName"`
	InstanceID  string `json:"instanceId"`
	HomepageURL string `json:"homepageUrl"`
}

// ContentKey is the one configuration key of a namespace that is not in
// properties format.
const ContentKey = "content"

// Format is a namespace's format, by its name's extension: "db.yaml" is
// yaml, "application" properties.
func Format(namespace string) string {
	if i := strings.LastIndexByte(namespace, '.'); i >= 0 {
		switch ext := namespace[i+1:]; ext {
		case "properties", "json", "yaml", "yml", "xml", "txt":
			return ext
		}
	}
	return "properties"
}

// messageKey is the key of a namespace in Messages.Details.
func messageKey(appID, cluster, namespace string) string {
	return appID + "+" + cluster + "+" + namespace
}

// configsURL is the /configs request of a namespace.
func configsURL(base, appID, cluster, namespace, releaseKey, ip, label, instanceID string, msgs *Messages) string {
	q := url.Values{}
	q.Set("releaseKey", releaseKey)
	if instanceID != "" {
		q.Set("instanceId", instanceID)
	}
	if ip != "" {
		q.Set("ip", ip)
	}
	if label != "" {
		q.Set("label", label)
	}
	if msgs != nil && len(msgs.Details) > 0 {
		b, _ := json.Marshal(msgs)
		q.Set("messages", string(b))
	}
	return base + "/configs/" + url.PathEscape(appID) + "/" + url.PathEscape(cluster) + "/" + url.PathEscape(namespace) + "?" + q.Encode()
}

// notificationsURL is the /notifications/v2 request for notes.
func notificationsURL(base, appID, cluster, ip string, notes []Notification) string {
	b, _ := json.Marshal(notes)
	q := url.Values{}
	q.Set("appId", appID)
	q.Set("cluster", cluster)
	q.Set("notifications", string(b))
	if ip != "" {
		q.Set("ip", ip)
	}
	return base + "/notifications/v2?" + q.Encode()
}

// servicesURL is the /services/config request.
func servicesURL(base, appID, ip string) string {
	q := url.Values{}
	q.Set("appId", appID)
	if ip != "" {
		q.Set("ip", ip)
	}
	return base + "/services/config?" + q.Encode()
}
