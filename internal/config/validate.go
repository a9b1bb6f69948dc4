package config

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/wharfhq/wharf/internal/cidr"
)

// Validate checks the options a process cannot start without getting right.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(o.DataDir) == "" {
		bad("data_dir must not be empty")
	}
	if o.ShutdownGrace <= 0 {
		bad("shutdown_grace must be positive, got %s", o.ShutdownGrace)
	}
	errs = append(errs, o.Runtime.validate()...)
	switch o.Log.Format {
	case "text", "json":
	default:
		bad("log.format must be text or json, got %q", o.Log.Format)
	}
	switch strings.ToLower(o.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level must be debug, info, warn or error, got %q", o.Log.Level)
	}
	for name, addr := range map[string]string{
		"internal.listen":  o.Internal.Listen,
		"nsq.embedded_tcp": o.NSQ.EmbeddedTCP, "nsq.embedded_http": o.NSQ.EmbeddedHTTP,
	} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s must be host:port, got %q", name, addr)
		}
	}
	for i, c := range o.Gateway.TrustedProxies {
		if _, err := cidr.Parse(c); err != nil {
			errs = append(errs, fieldErr(fmt.Sprintf("gateway.trusted_proxies[%d]", i), "%v", err))
		}
	}
	if err := o.Gateway.validateListeners(); err != nil {
		errs = append(errs, err)
	}
	if o.Gateway.MaxBodyBytes <= 0 {
		bad("gateway.max_body_bytes must be positive")
	}
	if o.NSQ.MaxInFlight <= 0 {
		bad("nsq.max_in_flight must be positive")
	}
	if err := o.NSQ.validateSecurity(); err != nil {
		errs = append(errs, err)
	}
	if o.Redis.DB < 0 {
		bad("redis.db must not be negative")
	}
	if err := o.Monitoring.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.ConfigService.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Notify.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.ValidateEdge(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
