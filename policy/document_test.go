package policy

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the named file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestApplyExportGolden parses each document under testdata/apply, exports
// it, and checks the export against its golden file; then it checks that
// the export is a fixed point and plans no change.
func TestApplyExportGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/apply/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.yaml") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := ParseDocument(in)
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			if _, err := Compile(ps, testEnv(), Defaults{}); err != nil {
				t.Fatalf("Compile: %v", err)
			}
			out, err := MarshalDocument(ps)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden.yaml", out)

			again, err := ParseDocument(out)
			if err != nil {
				t.Fatalf("ParseDocument(export): %v", err)
			}
			if plan := PlanChanges(ps, again, true); !plan.Empty() {
				t.Errorf("export changed the policies:\n%s", plan)
			}
			if plan := PlanChanges(again, ps, true); !plan.Empty() {
				t.Errorf("document differs from its export:\n%s", plan)
			}
			out2, err := MarshalDocument(again)
			if err != nil || string(out2) != string(out) {
				t.Errorf("export is not a fixed point:\n%s\nvs\n%s", out2, out)
			}
		})
	}
}

// TestInvalidDocumentsGolden checks the exact error of each document under
// testdata/invalid.
func TestInvalidDocumentsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := ParseDocument(in)
			if err == nil {
				t.Fatalf("ParseDocument accepted it: %+v", ps)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

// TestRoundTripRandom is the property MarshalDocument → ParseDocument →
// PlanChanges is empty, on random policy sets.
func TestRoundTripRandom(t *testing.T) {
	w := &randomWorld{r: newRand(11)}
	for round := range 50 {
		var ps []Policy
		for i := range w.r.IntN(20) {
			p := w.policy(i)
			if p.Action != ActionProtect && p.Fallback != ActionProtect {
				p.ProtectRecipients = nil
			}
			ps = append(ps, p)
		}
		out, err := MarshalDocument(ps)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("round %d: ParseDocument: %v\n%s", round, err, out)
		}
		if plan := PlanChanges(ps, back, true); !plan.Empty() {
			t.Fatalf("round %d: plan not empty:\n%s", round, plan)
		}
	}
}

func TestPlanChanges(t *testing.T) {
	cur := []Policy{
		{Name: "keep", Kind: KindAccess, Action: ActionAllow},
		{Name: "edit", Kind: KindAccess, Action: ActionBlock, Priority: 1, Filters: Filters{IPs: inc("10.0.0.0/8")}},
		{Name: "gone", Kind: KindAccess, Action: ActionBlock},
	}
	want := []Policy{
		{Name: "new", Kind: KindSession, Action: ActionBlock},
		{Name: "edit", Kind: KindAccess, Action: ActionBlock, Priority: 2, Filters: Filters{IPs: inc("10.0.0.0/8", "192.168.0.0/16")}},
		{Name: "keep", Kind: KindAccess, Action: ActionAllow, Enabled: enabled(true)},
	}
	plan := PlanChanges(cur, want, false)
	names := func(ps []Policy) (out []string) {
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	if !reflect.DeepEqual(names(plan.Add), []string{"new"}) || len(plan.Change) != 1 || plan.Change[0].Name != "edit" ||
		len(plan.Remove) != 0 || !reflect.DeepEqual(plan.Unchanged, []string{"gone", "keep"}) {
		t.Fatalf("plan = %+v", plan)
	}
	wantDiff := `  name: edit
  kind: access
  enabled: true
- priority: 1
+ priority: 2
  action: block
  filters:
    ips:
      include:
        - 10.0.0.0/8
+       - 192.168.0.0/16
`
	if plan.Change[0].Diff != wantDiff {
		t.Errorf("diff =\n%s\nwant\n%s", plan.Change[0].Diff, wantDiff)
	}
	pruned := PlanChanges(cur, want, true)
	if !reflect.DeepEqual(names(pruned.Remove), []string{"gone"}) {
		t.Errorf("pruned Remove = %v, want [gone]", names(pruned.Remove))
	}
	if s := pruned.String(); !strings.Contains(s, "add new\n") || !strings.Contains(s, "change edit\n") || !strings.Contains(s, "remove gone\n") {
		t.Errorf("String() =\n%s", s)
	}
	if s := PlanChanges(cur, cur, true).String(); s != "no changes\n" {
		t.Errorf("empty plan String() = %q", s)
	}
}

func TestMarshalDocumentOrderIndependent(t *testing.T) {
	a := []Policy{{Name: "b", Kind: KindAccess, Action: ActionBlock}, {Name: "a", Kind: KindAccess, Action: ActionAllow}}
	b := []Policy{a[1], a[0]}
	x, err1 := MarshalDocument(a)
	y, err2 := MarshalDocument(b)
	if err1 != nil || err2 != nil || string(x) != string(y) {
		t.Errorf("order changed the export:\n%s\n%s", x, y)
	}
	if _, err := MarshalDocument([]Policy{a[0], a[0]}); err == nil {
		t.Error("duplicate names exported")
	}
}
