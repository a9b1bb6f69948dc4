package strategy

import "testing"

func TestJudgingFingerprint(t *testing.T) {
	t.Parallel()
	base := Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Tags: map[string]string{"core": "all"},
		Endpoints: []string{"web-*", "db-*"}, Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3, Priority: 2}
	fp := JudgingFingerprint(base)
	if fp == 0 {
		t.Fatal("fingerprint 0 is reserved for unknown")
	}
	same := map[string]func(s *Strategy){
		"note":            func(s *Strategy) { s.Note = "call ops" },
		"max_step":        func(s *Strategy) { s.MaxStep = 5 },
		"min_interval":    func(s *Strategy) { s.MinInterval = 60 },
		"renotify_every":  func(s *Strategy) { s.RenotifyEvery = 600 },
		"endpoint order":  func(s *Strategy) { s.Endpoints = []string{"db-*", "web-*"} },
		"recover_after 1": func(s *Strategy) { s.RecoverAfter = 1 },
	}
	for name, edit := range same {
		s := base
		edit(&s)
		if JudgingFingerprint(s) != fp {
			t.Errorf("%s changed the judging fingerprint", name)
		}
	}
	differ := map[string]func(s *Strategy){
		"team":          func(s *Strategy) { s.Team = "ops" },
		"metric":        func(s *Strategy) { s.Metric = "cpu.idle" },
		"tags":          func(s *Strategy) { s.Tags = map[string]string{"core": "0"} },
		"endpoints":     func(s *Strategy) { s.Endpoints = []string{"web-*"} },
		"func":          func(s *Strategy) { s.Func = "all(#2)" },
		"operator":      func(s *Strategy) { s.Operator = ">=" },
		"right_value":   func(s *Strategy) { s.RightValue = 80 },
		"recover":       func(s *Strategy) { s.Recover = &Condition{Func: "all(#1)", Operator: "<", RightValue: 80} },
		"recover_after": func(s *Strategy) { s.RecoverAfter = 3 },
		"nodata":        func(s *Strategy) { s.NoData = 2 },
		"run window":    func(s *Strategy) { s.RunBegin, s.RunEnd = "08:00", "18:00" },
		"priority":      func(s *Strategy) { s.Priority = 0 },
		"expression":    func(s *Strategy) { s.Metric, s.Expression = "", "each(metric=cpu.busy core=all)" },
	}
	for name, edit := range differ {
		s := base
		edit(&s)
		if JudgingFingerprint(s) == fp {
			t.Errorf("%s kept the judging fingerprint", name)
		}
	}
}
