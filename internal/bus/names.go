package bus

import (
	"fmt"
	"strings"
)

// maxNameLen is nsqd's limit for topic and channel names.
const maxNameLen = 64

const ephemeralSuffix = "#ephemeral"

// ValidateTopic reports whether name is a valid nsq topic name: 1 to 64
// characters from [.a-zA-Z0-9_-], optionally ending in "#ephemeral".
func ValidateTopic(name string) error {
	if err := validateName(name); err != nil {
		return fmt.Errorf("invalid topic name %q: %w", name, err)
	}
	return nil
}

// ValidateChannel reports whether name is a valid nsq channel name; the rules
// are the same as for topics.
func ValidateChannel(name string) error {
	if err := validateName(name); err != nil {
		return fmt.Errorf("invalid channel name %q: %w", name, err)
	}
	return nil
}

// DeadLetterTopic returns the topic that failed messages of topic go to.
func DeadLetterTopic(topic string) string {
	if base, ok := strings.CutSuffix(topic, ephemeralSuffix); ok {
		return base + ".dead" + ephemeralSuffix
	}
	return topic + ".dead"
}

type nameError string

func (e nameError) Error() string { return string(e) }

func validateName(name string) error {
	if name == "" {
		return nameError("must not be empty")
	}
	if len(name) > maxNameLen {
		return nameError(fmt.Sprintf("must be at most %d characters, got %d", maxNameLen, len(name)))
	}
	base, _ := strings.CutSuffix(name, ephemeralSuffix)
	if base == "" {
		return nameError("must have characters before " + ephemeralSuffix)
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		ok := c == '.' || c == '_' || c == '-' ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return nameError(fmt.Sprintf("character %q at %d is not one of [.a-zA-Z0-9_-]", c, i))
		}
	}
	return nil
}
