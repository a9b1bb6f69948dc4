package rrd

import "math"

// consolidate is rrdtool's update_all_cdp_prep, update_cdp and
// write_to_rras for one data source: elapsed PDPs of rate temp closed after
// PDP number procCnt; every archive whose consolidation step ended writes
// its rows (at most Rows of them).
func consolidate(spec *Spec, st *State, rows RowWriter, elapsed, procCnt int64, temp float64) error {
	for i := range spec.Archives {
		a := &spec.Archives[i]
		c := &st.CDP[i]
		startOffset := a.PDPs - procCnt%a.PDPs
		var steps int64
		if startOffset <= elapsed {
			steps = min((elapsed-startOffset)/a.PDPs+1, a.Rows)
		}
		if a.PDPs == 1 {
			// One PDP per row: every row written is the PDP itself.
			c.Primary, c.Secondary = temp, temp
		} else {
			updateCDP(a, c, temp, steps, elapsed, startOffset)
		}
		for k := int64(0); k < steps; k++ {
			c.CurRow++
			if c.CurRow >= a.Rows {
				c.CurRow = 0
			}
			v := c.Secondary
			if k == 0 {
				v = c.Primary
			}
			if err := rows.WriteRow(i, c.CurRow, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// updateCDP is rrdtool's update_cdp for one archive of more than one PDP.
func updateCDP(a *Archive, c *CDP, temp float64, steps, elapsed, startOffset int64) {
	if steps == 0 {
		if math.IsNaN(temp) {
			c.Unknown += elapsed
		} else {
			c.Value = accumulate(a.CF, c.Value, temp, elapsed)
		}
		return
	}
	if math.IsNaN(temp) {
		c.Unknown += startOffset
		c.Secondary = math.NaN()
	} else {
		c.Secondary = temp
	}
	if float64(c.Unknown) > float64(a.PDPs)*a.XFF {
		c.Primary = math.NaN()
	} else {
		c.Primary = firstRow(a.CF, c, temp, startOffset, a.PDPs)
	}
	c.Value = carryOver(a.CF, temp, elapsed, startOffset, a.PDPs)
	if math.IsNaN(temp) {
		c.Unknown = (elapsed - startOffset) % a.PDPs
	} else {
		c.Unknown = 0
	}
}

// firstRow is rrdtool's initialize_cdp_val: the value of the row that the
// accumulated value and the first startOffset PDPs of this update close.
func firstRow(cf CF, c *CDP, temp float64, startOffset, pdps int64) float64 {
	switch cf {
	case Average:
		cum := ifNaN(c.Value, 0)
		cur := ifNaN(temp, 0)
		return (cum + float64(cur*float64(startOffset))) / float64(pdps-c.Unknown)
	case Max:
		cum := ifNaN(c.Value, math.Inf(-1))
		cur := ifNaN(temp, math.Inf(-1))
		if cur > cum {
			return cur
		}
		return cum
	case Min:
		cum := ifNaN(c.Value, math.Inf(1))
		cur := ifNaN(temp, math.Inf(1))
		if cur < cum {
			return cur
		}
		return cum
	}
	return temp
}

// carryOver is rrdtool's initialize_carry_over: what the PDPs of this
// update after the last written row leave in the accumulator.
func carryOver(cf CF, temp float64, elapsed, startOffset, pdps int64) float64 {
	into := (elapsed - startOffset) % pdps
	if into == 0 || math.IsNaN(temp) {
		switch cf {
		case Max:
			return math.Inf(-1)
		case Min:
			return math.Inf(1)
		case Average:
			return 0
		}
		return math.NaN()
	}
	if cf == Average {
		return float64(temp * float64(into))
	}
	return temp
}

// accumulate is rrdtool's calculate_cdp_val.
func accumulate(cf CF, acc, temp float64, elapsed int64) float64 {
	if math.IsNaN(acc) {
		if cf == Average {
			return float64(temp * float64(elapsed))
		}
		return temp
	}
	switch cf {
	case Average:
		return acc + float64(temp*float64(elapsed))
	case Min:
		if temp < acc {
			return temp
		}
		return acc
	case Max:
		if temp > acc {
			return temp
		}
		return acc
	}
	return temp
}

func ifNaN(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}
