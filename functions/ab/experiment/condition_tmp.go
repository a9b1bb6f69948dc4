package experiment

import "reflect"

// evalCondition is a stand-in for engine.EvalCondition (plain equality of
// top-level attributes only) until the engine package has it.
func evalCondition(attrs, cond map[string]any) bool {
	for k, v := range cond {
		if !reflect.DeepEqual(attrs[k], v) {
			return false
		}
	}
	return true
}
