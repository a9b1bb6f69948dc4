package strategy

import (
	"fmt"
	"math"
)

// Operator compares the function's value (left) with the right value.
type Operator uint8

// The operators; == and != use Falcon's tolerance of 0.0001.
const (
	EQ Operator = iota + 1
	NE
	LT
	LE
	GT
	GE
)

// Tolerance is Falcon's: == holds when |left-right| < Tolerance, != when
// it is > Tolerance.
const Tolerance = 0.0001

var opNames = [...]string{EQ: "==", NE: "!=", LT: "<", LE: "<=", GT: ">", GE: ">="}

// String is the operator as written.
func (o Operator) String() string {
	if o >= EQ && o <= GE {
		return opNames[o]
	}
	return fmt.Sprintf("Operator(%d)", uint8(o))
}

// ParseOperator reads == != < <= > >= (and Falcon's "=" for ==).
func ParseOperator(s string) (Operator, error) {
	if s == "=" {
		return EQ, nil
	}
	for o := EQ; o <= GE; o++ {
		if opNames[o] == s {
			return o, nil
		}
	}
	return 0, fmt.Errorf("%q is not one of == != < <= > >=", s)
}

// Holds reports whether left <op> right, as Falcon's checkIsTriggered (an
// unknown operator never holds).
func (o Operator) Holds(left, right float64) bool {
	switch o {
	case EQ:
		return math.Abs(left-right) < Tolerance
	case NE:
		return math.Abs(left-right) > Tolerance
	case LT:
		return left < right
	case LE:
		return left <= right
	case GT:
		return left > right
	case GE:
		return left >= right
	}
	return false
}
