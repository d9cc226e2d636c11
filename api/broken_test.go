package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// programListed is a program as GET /v1/programs lists it.
type programListed struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Version int    `json:"version"`
	Broken  string `json:"broken"`
}

// breakProgram stores params the decoder refuses, as an older dangol that
// accepted "100000y100000y" did.
func (e *env) breakProgram(id int64, params string) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), `UPDATE programs SET params = $2::jsonb WHERE id = $1`, id, params); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) listed() map[int64]programListed {
	e.t.Helper()
	var list struct {
		Programs []programListed `json:"programs"`
	}
	e.must(http.StatusOK, "GET", "/v1/programs", nil, &list)
	out := map[int64]programListed{}
	for _, p := range list.Programs {
		out[p.ID] = p
	}
	return out
}

// Defect 1 (API): a stored program that cannot be read back is reported
// as broken and skipped; it never breaks a purchase, another program, a
// read or a stop. Before the fix: GET 500, every purchase 500, PATCH 500,
// stop 500 after writing "stopped".
func TestBrokenProgramIsContained(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678",
		"consent": map[string]any{"sms": grant(true, "pos")}}, nil)
	var broken, healthy, lapsed programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "깨진 해피콜", "kind": "happy_call"}, &broken)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &healthy)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "컴백", "kind": "welcome_back"}, &lapsed)
	t.Cleanup(func() { e.call("POST", fmt.Sprintf("/v1/programs/%d/stop", lapsed.ID), nil) })
	e.breakProgram(broken.ID, `{"touches":[{"offset":"200000y","sms":"x"}]}`)
	if _, err := e.db.Exec(ctx, `UPDATE programs SET params = jsonb_set(params, '{coupon,valid_for}', '"200000y"') WHERE id = $1`, lapsed.ID); err != nil {
		t.Fatal(err)
	}
	// The customer is in the broken welcome-back program, which a purchase
	// would convert.
	if _, err := e.db.Exec(ctx, `INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status)
		SELECT $1, 1, id, 'broken-welcome-back', 'active' FROM customers WHERE external_id = 'c-1'`, lapsed.ID); err != nil {
		t.Fatal(err)
	}

	list := e.listed()
	if list[broken.ID].Broken == "" || list[lapsed.ID].Broken == "" || list[healthy.ID].Broken != "" {
		t.Fatalf("GET /v1/programs: %+v; want the two broken ones marked, the healthy one not", list)
	}
	var got programListed
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", broken.ID), nil, &got)
	if got.Broken == "" {
		t.Fatalf("GET of a broken program does not say so: %+v", got)
	}
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", healthy.ID), nil, &got)

	// A purchase records and starts the healthy program only.
	var bought purchaseOut
	e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", time.Now().Add(-time.Hour)), &bought)
	if len(bought.Enrolments) != 1 || bought.Enrolments[0].ProgramID != healthy.ID {
		t.Fatalf("purchase enrolments %+v, want one in program %d", bought.Enrolments, healthy.ID)
	}
	e.terminateAfter(bought.Enrolments[0].WorkflowID)
	// The repeat of the sale answers as well.
	e.must(http.StatusOK, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", bought.PurchasedAt), nil)

	// An audience program's sweep cannot run on broken params.
	e.call("POST", fmt.Sprintf("/v1/programs/%d/sweep", lapsed.ID), nil).wantProblem(t, http.StatusConflict, "params")

	// PATCH without params cannot make it readable; with params it repairs
	// it, as a new version.
	path := fmt.Sprintf("/v1/programs/%d", broken.ID)
	e.call("PATCH", path, map[string]any{"name": "새 이름"}).wantProblem(t, http.StatusConflict, "params")
	e.must(http.StatusOK, "PATCH", path, map[string]any{"params": map[string]any{"touches": []any{map[string]any{"offset": "3d", "sms": "감사합니다"}}}}, nil)
	if p := e.listed()[broken.ID]; p.Broken != "" || p.Version != 2 {
		t.Fatalf("after the repair: %+v, want readable at version 2", p)
	}
	if n := e.count(`SELECT count(*) FROM program_versions WHERE program_id = $1 AND version = 2`, broken.ID); n != 1 {
		t.Fatalf("%d version rows for the repair", n)
	}

	// Pause, resume and stop answer 202 and do what they say.
	e.breakProgram(broken.ID, `{"touches":[{"offset":"200000y","sms":"x"}]}`)
	for _, id := range []int64{broken.ID, lapsed.ID} {
		for _, action := range []string{"pause", "resume", "stop"} {
			e.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/%s", id, action), nil, nil)
		}
		if p := e.listed()[id]; p.Status != "stopped" {
			t.Fatalf("program %d after stop: %+v", id, p)
		}
	}
	// A stopped audience program has no schedule left.
	if _, err := e.tc.ScheduleClient().GetHandle(ctx, fmt.Sprintf("program-%d-sweep", lapsed.ID)).Describe(ctx); err == nil {
		t.Fatalf("stopped broken program %d kept its sweep schedule", lapsed.ID)
	}
}

// Defect 1 at create: "100000y100000y" (each part under the cap, the sum
// over it) must be refused, not stored as an unreadable "200000y":
// programs.Parse bounds the sum and checks the round trip.
func TestProgramOffsetOverflowRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.call("POST", "/v1/programs", map[string]any{"name": "x", "kind": "happy_call",
		"params": map[string]any{"touches": []any{map[string]any{"offset": "100000y100000y", "sms": "x"}}}}).
		wantProblem(t, http.StatusBadRequest, "params.touches[0].offset")
	e.call("POST", "/v1/programs", map[string]any{"name": "x", "kind": "welcome_back",
		"params": map[string]any{"coupon": map[string]any{"valid_for": "100000y100000y"}}}).
		wantProblem(t, http.StatusBadRequest, "params.coupon.valid_for")
	if n := e.count(`SELECT count(*) FROM programs`); n != 0 {
		t.Fatalf("%d programs stored", n)
	}
}
