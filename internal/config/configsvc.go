package config

import (
	"errors"
	"fmt"
	"time"
)

// ConfigServiceOptions configure the config function's client protocol
// (Apollo's; see docs/config.md).
type ConfigServiceOptions struct {
	PollTimeout      time.Duration `yaml:"poll_timeout" help:"how long GET /notifications/v2 holds a poll without a change before it answers 304 (Apollo clients wait 90s)"`
	ClockWindow      time.Duration `yaml:"clock_window" help:"how far the Timestamp of an access-key signature may be from this node's clock"`
	StaleCredentials time.Duration `yaml:"stale_credentials" help:"while the store cannot be reached, how long after its last successful check on this node a token keeps reading an app's config"`
}

func defaultConfigService() ConfigServiceOptions {
	return ConfigServiceOptions{PollTimeout: 60 * time.Second, ClockWindow: 60 * time.Second, StaleCredentials: 5 * time.Minute}
}

func (c ConfigServiceOptions) validate() error {
	var errs []error
	if c.PollTimeout < 100*time.Millisecond || c.PollTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("config_service.poll_timeout must be 100ms to 10m, got %s", c.PollTimeout))
	}
	if c.ClockWindow < time.Second || c.ClockWindow > time.Hour {
		errs = append(errs, fmt.Errorf("config_service.clock_window must be 1s to 1h, got %s", c.ClockWindow))
	}
	if c.StaleCredentials < time.Second || c.StaleCredentials > time.Hour {
		errs = append(errs, fmt.Errorf("config_service.stale_credentials must be 1s to 1h, got %s", c.StaleCredentials))
	}
	return errors.Join(errs...)
}
