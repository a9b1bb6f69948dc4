// Package silence is Wharf's silences and inhibition rules, with
// Alertmanager's semantics. A silence mutes every alert whose labels its
// matchers all match while it is active (startsAt ≤ t < endsAt); an
// inhibition rule mutes the alerts that match its target matchers while an
// alert that matches its source matchers fires with the same values of
// the "equal" labels. Muting only stops notifications: the notify layer
// still records the case (history kind "silenced"/"inhibited"). Pure: no
// I/O, time is passed in.
package silence
