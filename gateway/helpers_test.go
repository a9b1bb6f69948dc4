package gateway_test

import "fmt"

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func itoa(n int) string { return fmt.Sprint(n) }
