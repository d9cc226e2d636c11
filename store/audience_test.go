package store_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// db is a migrated, empty database: the store, and a pool for fixtures
// and for checking rows the store has no reader for.
type db struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	sql *pgxpool.Pool
	ids map[string]int64 // external id -> customer id
}

func newDB(t *testing.T) *db {
	t.Helper()
	ctx := context.Background()
	st, dsn := testenv.Store(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &db{t: t, ctx: ctx, st: st, sql: pool, ids: map[string]int64{}}
}

func (d *db) exec(q string, args ...any) {
	d.t.Helper()
	if _, err := d.sql.Exec(d.ctx, q, args...); err != nil {
		d.t.Fatalf("%s: %v", q, err)
	}
}

type cust struct {
	birthday  bool
	consent   []string // granted channels
	withdrawn []string // channels withdrawn
}

func (d *db) customer(ext string, c cust) int64 {
	d.t.Helper()
	in := store.Customer{ExternalID: ext, Name: "고객 " + ext, TimeZone: "Asia/Seoul", Locale: "ko-KR", Consent: map[string]store.Consent{}}
	if c.birthday {
		b := time.Date(1990, 5, 5, 0, 0, 0, 0, time.UTC)
		in.Birthday = &b
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ch := range c.consent {
		in.Consent[ch] = store.Consent{Granted: true, At: at, Source: "pos"}
	}
	for _, ch := range c.withdrawn {
		in.Consent[ch] = store.Consent{Granted: false, At: at, Source: "unsubscribe"}
	}
	stored, _, err := d.st.UpsertCustomer(d.ctx, in)
	if err != nil {
		d.t.Fatal(err)
	}
	d.ids[ext] = stored.ID
	return stored.ID
}

var purchaseN int

// buy records a purchase the way the API does, keeping customer_stats.
func (d *db) buy(ext, amount, store_, category string, at time.Time) {
	d.t.Helper()
	purchaseN++
	_, created, _, err := d.st.RecordPurchase(d.ctx, store.Purchase{
		ExternalID: "p-" + strconv.Itoa(purchaseN), CustomerID: d.ids[ext], Amount: amount, Currency: "KRW",
		Category: category, Product: "상품", Store: store_, PurchasedAt: at,
	}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
	if err != nil || !created {
		d.t.Fatalf("purchase for %s: created=%v err=%v", ext, created, err)
	}
}

// names maps ids back to external ids, sorted by id.
func (d *db) names(ids []int64) []string {
	byID := map[int64]string{}
	for ext, id := range d.ids {
		byID[id] = ext
	}
	out := []string{}
	for _, id := range ids {
		if n, ok := byID[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, "#"+strconv.FormatInt(id, 10))
		}
	}
	return out
}

func (d *db) idsOf(exts ...string) []int64 {
	out := []int64{}
	for _, e := range exts {
		id, ok := d.ids[e]
		if !ok {
			d.t.Fatalf("no customer %s", e)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// eligibleAll pages through EligibleCustomers and checks every id comes
// once, in order.
func (d *db) eligibleAll(q store.EligibleQuery) []int64 {
	d.t.Helper()
	var all []int64
	for pages := 0; ; pages++ {
		if pages > 10000 {
			d.t.Fatal("paging does not end")
		}
		page, err := d.st.EligibleCustomers(d.ctx, q)
		if err != nil {
			d.t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) == 0 || (q.Limit > 0 && len(page) < q.Limit) {
			break
		}
		q.AfterCustomerID = page[len(page)-1]
	}
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		d.t.Fatalf("ids not strictly increasing: %v", all)
	}
	if all == nil {
		all = []int64{}
	}
	return all
}

func ptr[T any](v T) *T { return &v }

var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.AddDate(0, 0, -n) }

func TestAudienceFilters(t *testing.T) {
	d := newDB(t)
	// c1: lapsed big spender at 강남점 (가전), 2 purchases, last 150 days ago.
	d.customer("c1", cust{birthday: true, consent: []string{"sms"}})
	d.buy("c1", "1000000", "강남점", "가전", daysAgo(200))
	d.buy("c1", "500000", "강남점", "가전", daysAgo(150))
	// c2: one recent purchase; SMS withdrawn, email granted.
	d.customer("c2", cust{consent: []string{"email"}, withdrawn: []string{"sms"}})
	d.buy("c2", "30000", "홍대점", "의류", daysAgo(10))
	// c3: frequent small buyer, last 5 days ago.
	d.customer("c3", cust{birthday: true, consent: []string{"sms"}})
	for _, n := range []int{80, 60, 40, 20, 5} {
		d.buy("c3", "20000", "홍대점", "식품", daysAgo(n))
	}
	// c4: never bought, dormant.
	d.customer("c4", cust{birthday: true, consent: []string{"sms"}})
	// c5: one old purchase in 부산점, dormant since.
	d.customer("c5", cust{consent: []string{"call"}})
	d.buy("c5", "300000", "부산점", "가전", daysAgo(400))
	// c6: two tiny purchases just over 90 days ago, at a store whose name
	// would break string-built SQL.
	d.customer("c6", cust{})
	d.buy("c6", "0.50", "O'Brien's 강남점", "식품", daysAgo(95))
	d.buy("c6", "99.50", "강남점", "식품", daysAgo(91))
	// c7: a stats row with no purchases (count 0): no average either.
	d.exec(`INSERT INTO customer_stats (customer_id) VALUES ($1)`, d.customer("c7", cust{}))
	d.exec(`UPDATE customers SET lifecycle = 'dormant' WHERE external_id IN ('c4', 'c5')`)
	d.exec(`UPDATE customer_stats SET grade = g FROM (VALUES ('c1', 'A'), ('c3', 'B'), ('c2', 'C')) v(ext, g), customers c
		WHERE c.external_id = v.ext AND customer_stats.customer_id = c.id`)

	for _, tc := range []struct {
		name string
		f    audience.Filter
		want []string
	}{
		{"everyone", audience.Filter{}, []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7"}},
		// Never bought is not lapsed.
		{"lapsed 90", audience.Filter{LastPurchaseOlderThanDays: ptr(90)}, []string{"c1", "c5", "c6"}},
		{"lapsed 100", audience.Filter{LastPurchaseOlderThanDays: ptr(100)}, []string{"c1", "c5"}},
		{"lapsed 0", audience.Filter{LastPurchaseOlderThanDays: ptr(0)}, []string{"c1", "c2", "c3", "c5", "c6"}},
		{"newer 30", audience.Filter{LastPurchaseNewerThanDays: ptr(30)}, []string{"c2", "c3"}},
		{"newer 10 (inclusive)", audience.Filter{LastPurchaseNewerThanDays: ptr(10)}, []string{"c2", "c3"}},
		{"newer 9", audience.Filter{LastPurchaseNewerThanDays: ptr(9)}, []string{"c3"}},
		{"between 30 and 100 days", audience.Filter{LastPurchaseOlderThanDays: ptr(30), LastPurchaseNewerThanDays: ptr(100)}, []string{"c6"}},
		{"min purchases 2", audience.Filter{MinPurchases: ptr(2)}, []string{"c1", "c3", "c6"}},
		{"max purchases 1", audience.Filter{MaxPurchases: ptr(1)}, []string{"c2", "c4", "c5", "c7"}},
		{"no purchases", audience.Filter{MaxPurchases: ptr(0)}, []string{"c4", "c7"}},
		{"purchases 2-4", audience.Filter{MinPurchases: ptr(2), MaxPurchases: ptr(4)}, []string{"c1", "c6"}},
		{"total >= 300000", audience.Filter{MinTotalSpend: ptr("300000")}, []string{"c1", "c5"}},
		{"total <= 100", audience.Filter{MaxTotalSpend: ptr("100")}, []string{"c4", "c6", "c7"}},
		{"total <= 99.99", audience.Filter{MaxTotalSpend: ptr("99.99")}, []string{"c4", "c7"}},
		{"avg >= 50000", audience.Filter{MinAvgSpend: ptr("50000")}, []string{"c1", "c5"}},
		// No purchases, no average: c4 and c7 are excluded by any average bound.
		{"avg <= 30000", audience.Filter{MaxAvgSpend: ptr("30000")}, []string{"c2", "c3", "c6"}},
		{"avg 50-50", audience.Filter{MinAvgSpend: ptr("50"), MaxAvgSpend: ptr("50.00")}, []string{"c6"}},
		{"avg >= 0", audience.Filter{MinAvgSpend: ptr("0")}, []string{"c1", "c2", "c3", "c5", "c6"}},
		{"grade A", audience.Filter{Grades: []string{"A"}}, []string{"c1"}},
		{"grade A or B", audience.Filter{Grades: []string{"A", "B"}}, []string{"c1", "c3"}},
		{"grade C", audience.Filter{Grades: []string{"C"}}, []string{"c2"}},
		{"store 강남점", audience.Filter{Stores: []string{"강남점"}}, []string{"c1", "c6"}},
		{"store with quote", audience.Filter{Stores: []string{"O'Brien's 강남점"}}, []string{"c6"}},
		{"stores 강남점 or 부산점", audience.Filter{Stores: []string{"강남점", "부산점"}}, []string{"c1", "c5", "c6"}},
		{"store nowhere", audience.Filter{Stores: []string{"명동점"}}, []string{}},
		{"category 가전", audience.Filter{Categories: []string{"가전"}}, []string{"c1", "c5"}},
		{"홍대점 and 식품", audience.Filter{Stores: []string{"홍대점"}, Categories: []string{"식품"}}, []string{"c3"}},
		{"has birthday", audience.Filter{HasBirthday: ptr(true)}, []string{"c1", "c3", "c4"}},
		{"no birthday", audience.Filter{HasBirthday: ptr(false)}, []string{"c2", "c5", "c6", "c7"}},
		{"sms consent", audience.Filter{Consent: "sms"}, []string{"c1", "c3", "c4"}},
		{"email consent", audience.Filter{Consent: "email"}, []string{"c2"}},
		{"call consent", audience.Filter{Consent: "call"}, []string{"c5"}},
		{"dormant", audience.Filter{Lifecycle: "dormant"}, []string{"c4", "c5"}},
		{"active", audience.Filter{Lifecycle: "active"}, []string{"c1", "c2", "c3", "c6", "c7"}},
		{"lapsed 가전 with SMS", audience.Filter{LastPurchaseOlderThanDays: ptr(90), Categories: []string{"가전"}, Consent: "sms"}, []string{"c1"}},
		{"lapsed dormant", audience.Filter{LastPurchaseOlderThanDays: ptr(90), Lifecycle: "dormant"}, []string{"c5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d.t = t
			want := d.idsOf(tc.want...)
			got := d.eligibleAll(store.EligibleQuery{ProgramID: 1, Filter: tc.f, Now: now, Limit: 2})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("EligibleCustomers: got %v, want %v", d.names(got), tc.want)
			}
			n, sample, err := d.st.PreviewAudience(d.ctx, tc.f, now)
			if err != nil {
				t.Fatal(err)
			}
			var sampleIDs []int64
			for _, c := range sample {
				sampleIDs = append(sampleIDs, c.ID)
			}
			if sampleIDs == nil {
				sampleIDs = []int64{}
			}
			if n != int64(len(want)) || !reflect.DeepEqual(sampleIDs, want) {
				t.Errorf("PreviewAudience: count %d sample %v, want %d %v", n, d.names(sampleIDs), len(want), tc.want)
			}
		})
	}
}

func TestPreviewAudienceSample(t *testing.T) {
	d := newDB(t)
	d.exec(`INSERT INTO customers (external_id, name, consent)
		SELECT 'bulk-' || i, '고객' || i, CASE WHEN i % 2 = 0 THEN '{"sms": {"granted": true}}'::jsonb ELSE '{}' END
		FROM generate_series(1, 25) i`)
	rows, _ := d.sql.Query(d.ctx, `SELECT id FROM customers WHERE consent ? 'sms' ORDER BY id`)
	var evens []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		evens = append(evens, id)
	}
	if rows.Err() != nil || len(evens) != 12 {
		t.Fatalf("fixture: %v %v", evens, rows.Err())
	}
	n, sample, err := d.st.PreviewAudience(d.ctx, audience.Filter{Consent: "sms"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 12 || len(sample) != store.PreviewSampleSize {
		t.Fatalf("count %d, sample of %d; want 12 and %d", n, len(sample), store.PreviewSampleSize)
	}
	for i, c := range sample {
		if c.ID != evens[i] || c.ExternalID == "" || !c.Consents("sms") {
			t.Fatalf("sample[%d] = %+v, want customer %d with SMS consent", i, c, evens[i])
		}
	}
	// Paging 5 at a time returns each of the 12 once.
	got := d.eligibleAll(store.EligibleQuery{ProgramID: 1, Filter: audience.Filter{Consent: "sms"}, Now: now, Limit: 5})
	if !reflect.DeepEqual(got, evens) {
		t.Fatalf("paged %v, want %v", got, evens)
	}
	// An empty result is an empty sample, not nil (the API renders []).
	n, sample, err = d.st.PreviewAudience(d.ctx, audience.Filter{Consent: "call"}, now)
	if err != nil || n != 0 || sample == nil || len(sample) != 0 {
		t.Fatalf("empty preview: %d %v %v", n, sample, err)
	}
	// An invalid filter is a field error, before any SQL runs.
	if _, _, err := d.st.PreviewAudience(d.ctx, audience.Filter{Grades: []string{"S"}}, now); err == nil {
		t.Fatal("invalid filter accepted")
	} else if fe, ok := err.(*audience.FieldError); !ok || fe.Field != "audience.grades[0]" {
		t.Fatalf("error %v (%T), want a field error on audience.grades[0]", err, err)
	}
}

func TestEligibleCooldown(t *testing.T) {
	d := newDB(t)
	var program, other int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('컴백', 'welcome_back', '{}') RETURNING id`).Scan(&program); err != nil {
		t.Fatal(err)
	}
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('생일', 'birthday', '{}') RETURNING id`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	n := 0
	enrol := func(prog int64, ext, status string, endedAt *time.Time, perPurchase bool) {
		t.Helper()
		n++
		d.exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, ended_at, per_purchase)
			VALUES ($1, 1, $2, $3, $4, $5, $6)`, prog, d.ids[ext], fmt.Sprintf("wf-%d", n), status, endedAt, perPurchase)
	}
	for _, ext := range []string{"free", "active", "pending", "ended-10d", "ended-40d", "per-purchase", "other-program",
		"ended-59d", "ended-62d", "ended-2h", "ended-and-live", "no-consent"} {
		c := cust{consent: []string{"sms"}}
		if ext == "no-consent" {
			c = cust{}
		}
		d.customer(ext, c)
	}
	enrol(program, "active", "active", nil, false)
	enrol(program, "pending", "pending", nil, false)
	enrol(program, "ended-10d", "ended", ptr(daysAgo(10)), false)
	enrol(program, "ended-40d", "ended", ptr(daysAgo(40)), false)
	enrol(program, "per-purchase", "active", nil, true)
	enrol(program, "per-purchase", "pending", nil, true)
	enrol(other, "other-program", "active", nil, false)
	enrol(program, "ended-59d", "ended", ptr(daysAgo(59)), false)
	enrol(program, "ended-62d", "ended", ptr(daysAgo(62)), false)
	enrol(program, "ended-2h", "ended", ptr(now.Add(-2*time.Hour)), false)
	enrol(program, "ended-and-live", "ended", ptr(daysAgo(400)), false)
	enrol(program, "ended-and-live", "active", nil, false)

	for _, tc := range []struct {
		name  string
		query store.EligibleQuery
		want  []string
	}{
		{"30 days", store.EligibleQuery{CooldownDays: 30},
			[]string{"free", "ended-40d", "per-purchase", "other-program", "ended-59d", "ended-62d"}},
		{"2 months", store.EligibleQuery{CooldownMonths: 2},
			[]string{"free", "per-purchase", "other-program", "ended-62d"}},
		{"1 hour exact", store.EligibleQuery{CooldownExact: time.Hour},
			[]string{"free", "ended-10d", "ended-40d", "per-purchase", "other-program", "ended-59d", "ended-62d", "ended-2h"}},
		{"3 hours exact", store.EligibleQuery{CooldownExact: 3 * time.Hour},
			[]string{"free", "ended-10d", "ended-40d", "per-purchase", "other-program", "ended-59d", "ended-62d"}},
		{"no cooldown", store.EligibleQuery{},
			[]string{"free", "ended-10d", "ended-40d", "per-purchase", "other-program", "ended-59d", "ended-62d", "ended-2h"}},
		{"other program's view", store.EligibleQuery{ProgramID: other, CooldownDays: 30},
			[]string{"free", "active", "pending", "ended-10d", "ended-40d", "per-purchase", "ended-59d", "ended-62d", "ended-2h", "ended-and-live"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d.t = t
			q := tc.query
			if q.ProgramID == 0 {
				q.ProgramID = program
			}
			q.Now, q.Filter, q.Limit = now, audience.Filter{Consent: "sms"}, 3
			got := d.eligibleAll(q)
			if want := d.idsOf(tc.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", d.names(got), tc.want)
			}
		})
	}

	// Page boundaries: every page size returns the same set.
	d.t = t
	base := d.eligibleAll(store.EligibleQuery{ProgramID: program, Now: now, CooldownDays: 30, Limit: 1000})
	for _, limit := range []int{1, 2, 5} {
		got := d.eligibleAll(store.EligibleQuery{ProgramID: program, Now: now, CooldownDays: 30, Limit: limit})
		if !reflect.DeepEqual(got, base) {
			t.Fatalf("limit %d: %v, want %v", limit, d.names(got), d.names(base))
		}
	}
	if _, err := d.st.EligibleCustomers(d.ctx, store.EligibleQuery{ProgramID: program}); err == nil {
		t.Fatal("a query without Now was accepted")
	}
}

type gradeRow struct {
	grade    *string
	gradedAt *time.Time
	count    int
	spend    string
	first    *time.Time
	last     *time.Time
}

func (d *db) gradeOf(ext string) (gradeRow, bool) {
	d.t.Helper()
	var g gradeRow
	err := d.sql.QueryRow(d.ctx, `SELECT grade, graded_at, purchase_count, total_spend::text, first_purchase_at, last_purchase_at
		FROM customer_stats WHERE customer_id = $1`, d.ids[ext]).Scan(&g.grade, &g.gradedAt, &g.count, &g.spend, &g.first, &g.last)
	if err != nil {
		return g, false
	}
	return g, true
}

func (d *db) grades(exts ...string) map[string]string {
	d.t.Helper()
	out := map[string]string{}
	for _, e := range exts {
		g, ok := d.gradeOf(e)
		switch {
		case !ok:
			out[e] = "no stats"
		case g.grade == nil:
			out[e] = "ungraded"
		default:
			out[e] = *g.grade
		}
	}
	return out
}

func TestRecomputeGrades(t *testing.T) {
	d := newDB(t)
	all := []string{"g01", "g02", "g03", "g04", "g05", "g06", "g07", "g08", "g09", "g10", "g11", "g12"}
	for _, e := range all {
		d.customer(e, cust{})
	}
	// Ten buyers in the window (365 days up to now).
	d.buy("g01", "1000000", "강남점", "가전", daysAgo(100))
	d.buy("g02", "500000", "강남점", "가전", daysAgo(200))
	d.buy("g02", "300000", "강남점", "가전", daysAgo(20))
	for _, n := range []int{300, 30, 3} {
		d.buy("g03", "166666.67", "홍대점", "의류", daysAgo(n))
	}
	d.buy("g04", "400000", "강남점", "가전", daysAgo(50))
	d.buy("g05", "150000", "강남점", "식품", daysAgo(10))
	d.buy("g05", "150000", "강남점", "식품", daysAgo(11))
	d.buy("g06", "200000", "강남점", "식품", daysAgo(5))
	d.buy("g06", "9000000", "강남점", "가전", now.AddDate(0, 0, 1)) // future: not in the window
	d.buy("g07", "100000", "강남점", "식품", daysAgo(1))
	d.buy("g07", "100000", "강남점", "식품", daysAgo(366)) // before the window
	d.buy("g08", "50000", "강남점", "식품", daysAgo(2))
	d.buy("g08", "5000000", "강남점", "식품", daysAgo(365)) // exactly the window's start: excluded
	d.buy("g09", "30000", "강남점", "식품", now)            // exactly now: included
	d.buy("g10", "5000", "강남점", "식품", daysAgo(7))
	d.buy("g10", "5000", "강남점", "식품", daysAgo(8))
	// g11 spent the most, but not in the window; g12 never bought.
	d.buy("g11", "9999999", "강남점", "가전", daysAgo(500))

	before, _ := d.gradeOf("g03")
	counts, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{WindowDays: 365, ATopShare: 0.2, BMinPurchases: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"g01": "A", "g02": "A", // top 2 of 10 buyers by window spend
		"g03": "B", "g05": "B", "g10": "B", // 2+ purchases in the window
		"g04": "C", "g06": "C", "g07": "C", "g08": "C", "g09": "C", "g11": "C",
		"g12": "no stats",
	}
	if got := d.grades(all...); !reflect.DeepEqual(got, want) {
		t.Fatalf("grades\n got %v\nwant %v", got, want)
	}
	if counts != (store.GradeCounts{A: 2, B: 3, C: 6}) {
		t.Fatalf("counts %+v, want A 2 B 3 C 6", counts)
	}
	after, _ := d.gradeOf("g03")
	if after.gradedAt == nil || !after.gradedAt.Equal(now) {
		t.Fatalf("graded_at %v, want %v", after.gradedAt, now)
	}
	// Grading leaves the purchase statistics alone.
	if after.count != before.count || after.spend != before.spend || after.count != 3 || after.spend != "500000.01" {
		t.Fatalf("stats changed: before %+v after %+v", before, after)
	}

	// Zero rules are the defaults (365 days, top 20%, 2 purchases).
	if c, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{}, now); err != nil || c != counts {
		t.Fatalf("default rules: %+v %v, want %+v", c, err, counts)
	}

	// Other rules regrade everyone: top half A, B needs 3 purchases.
	counts, err = d.st.RecomputeGrades(d.ctx, store.GradeRules{WindowDays: 365, ATopShare: 0.5, BMinPurchases: 3}, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"g01": "A", "g02": "A", "g03": "A", "g04": "A", "g05": "A",
		"g06": "C", "g07": "C", "g08": "C", "g09": "C", "g10": "C", "g11": "C", "g12": "no stats",
	}
	if got := d.grades(all...); !reflect.DeepEqual(got, want) || counts != (store.GradeCounts{A: 5, B: 0, C: 6}) {
		t.Fatalf("rules 0.5/3: grades %v counts %+v\nwant %v", got, counts, want)
	}

	// A 2-year window brings g11 back: the biggest spender is A, the old
	// purchases count for B.
	counts, err = d.st.RecomputeGrades(d.ctx, store.GradeRules{WindowDays: 730, ATopShare: 0.2, BMinPurchases: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	// Buyers: g01-g11 (11); spend: g11 9999999, g08 5050000, g01 1000000 ...
	// cume_dist <= 0.2 means the top 2 (2/11 <= 0.2 < 3/11).
	want = map[string]string{
		"g11": "A", "g08": "A",
		"g02": "B", "g03": "B", "g05": "B", "g07": "B", "g10": "B",
		"g01": "C", "g04": "C", "g06": "C", "g09": "C", "g12": "no stats",
	}
	if got := d.grades(all...); !reflect.DeepEqual(got, want) || counts != (store.GradeCounts{A: 2, B: 5, C: 4}) {
		t.Fatalf("730 days: grades %v counts %+v\nwant %v", got, counts, want)
	}

	// The grades feed the audience filter.
	n, sample, err := d.st.PreviewAudience(d.ctx, audience.Filter{Grades: []string{"A"}}, now)
	if err != nil || n != 2 || len(sample) != 2 {
		t.Fatalf("grade A audience: %d %v %v", n, sample, err)
	}

	for _, bad := range []store.GradeRules{{WindowDays: -1}, {ATopShare: 1.5}, {ATopShare: -0.1}, {BMinPurchases: -2}} {
		if _, err := d.st.RecomputeGrades(d.ctx, bad, now); err == nil {
			t.Fatalf("rules %+v accepted", bad)
		}
	}
}

func TestRecomputeGradesTies(t *testing.T) {
	d := newDB(t)
	spends := map[string]string{"t1": "100", "t2": "90", "t3": "90", "t4": "90", "t5": "10"}
	exts := []string{"t1", "t2", "t3", "t4", "t5"}
	for _, e := range exts {
		d.customer(e, cust{})
		d.buy(e, spends[e], "강남점", "식품", daysAgo(3))
	}
	for _, tc := range []struct {
		share float64
		want  map[string]string
	}{
		// 1/5 <= 0.2: t1 alone. The three 90s share cume_dist 4/5.
		{0.2, map[string]string{"t1": "A", "t2": "C", "t3": "C", "t4": "C", "t5": "C"}},
		// A tie across the boundary is not split and falls below it.
		{0.6, map[string]string{"t1": "A", "t2": "C", "t3": "C", "t4": "C", "t5": "C"}},
		{0.8, map[string]string{"t1": "A", "t2": "A", "t3": "A", "t4": "A", "t5": "C"}},
		{1, map[string]string{"t1": "A", "t2": "A", "t3": "A", "t4": "A", "t5": "A"}},
	} {
		if _, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{ATopShare: tc.share}, now); err != nil {
			t.Fatal(err)
		}
		if got := d.grades(exts...); !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("share %v: %v, want %v", tc.share, got, tc.want)
		}
	}
	// Everyone spent the same: nobody stands out, nobody is A.
	d.exec(`UPDATE purchases SET amount = 50`)
	c, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{}, now)
	if err != nil || c != (store.GradeCounts{A: 0, B: 0, C: 5}) {
		t.Fatalf("equal spend: %+v %v", c, err)
	}
}

// A purchase written around RecordPurchase (a bulk import) has no stats
// row; grading creates it from the purchases.
func TestRecomputeGradesMissingStats(t *testing.T) {
	d := newDB(t)
	d.customer("kept", cust{})
	d.buy("kept", "700", "강남점", "식품", daysAgo(3))
	d.customer("imported", cust{})
	d.exec(`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at) VALUES
		('imp-1', $1, 1000, 'KRW', '강남점', $2), ('imp-2', $1, 250.5, 'KRW', '강남점', $3), ('imp-3', $1, 1, 'KRW', '강남점', $4)`,
		d.ids["imported"], daysAgo(800), daysAgo(30), daysAgo(1))
	d.customer("never", cust{})
	if _, ok := d.gradeOf("imported"); ok {
		t.Fatal("fixture: imported customer already has stats")
	}
	c, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{ATopShare: 0.5}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c != (store.GradeCounts{A: 1, B: 1, C: 0}) {
		t.Fatalf("counts %+v", c)
	}
	g, ok := d.gradeOf("imported")
	if !ok || g.grade == nil || *g.grade != "B" || g.count != 3 || g.spend != "1251.50" ||
		g.first == nil || g.last == nil || g.gradedAt == nil || !g.first.Equal(daysAgo(800)) || !g.last.Equal(daysAgo(1)) || !g.gradedAt.Equal(now) {
		t.Fatalf("imported stats %+v (grade %v)", g, g.grade)
	}
	// kept: 700 in the window vs imported's 251.5 → kept is top 1 of 2.
	if got := d.grades("kept", "imported", "never"); !reflect.DeepEqual(got, map[string]string{"kept": "A", "imported": "B", "never": "no stats"}) {
		t.Fatalf("grades %v", got)
	}
}

// TestAudiencePerformance times the grade job and a full paging through
// an audience on a seeded database. It runs only when asked:
//
//	DANGOL_PERF_CUSTOMERS=100000 GOTOOLCHAIN=local go test ./store -run TestAudiencePerformance -v
func TestAudiencePerformance(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DANGOL_PERF_CUSTOMERS"))
	if n <= 0 {
		t.Skip("set DANGOL_PERF_CUSTOMERS=100000 to run")
	}
	d := newDB(t)
	seedPerf(d, n)

	for i := range 2 {
		start := time.Now()
		c, err := d.st.RecomputeGrades(d.ctx, store.GradeRules{}, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("RecomputeGrades run %d: %s, %+v", i+1, time.Since(start).Round(time.Millisecond), c)
		if c.A == 0 || c.B == 0 || c.C == 0 || c.A+c.B+c.C != int64(n) {
			t.Fatalf("counts %+v for %d customers", c, n)
		}
	}

	var program int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('컴백', 'welcome_back', '{}') RETURNING id`).Scan(&program); err != nil {
		t.Fatal(err)
	}
	// A tenth of the customers are enrolled or cooling down.
	d.exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, ended_at)
		SELECT $1, 1, id, 'perf-' || id, CASE WHEN id % 20 = 0 THEN 'active' ELSE 'ended' END,
		       CASE WHEN id % 20 <> 0 THEN $2::timestamptz - make_interval(days => (id % 360)::int) END
		FROM customers WHERE id % 10 = 0`, program, now)
	d.exec(`ANALYZE`)
	for _, tc := range []struct {
		name string
		f    audience.Filter
	}{
		{"everyone", audience.Filter{}},
		{"lapsed 90 days with SMS", audience.Filter{LastPurchaseOlderThanDays: ptr(90), Consent: "sms"}},
		{"grade A", audience.Filter{Grades: []string{"A"}}},
		{"bought 가전 at 강남점, 2+ purchases", audience.Filter{Stores: []string{"강남점"}, Categories: []string{"가전"}, MinPurchases: ptr(2)}},
	} {
		start := time.Now()
		pages := 0
		q := store.EligibleQuery{ProgramID: program, Filter: tc.f, Now: now, CooldownDays: 180, Limit: 1000}
		total := 0
		for {
			ids, err := d.st.EligibleCustomers(d.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			total += len(ids)
			if len(ids) < q.Limit {
				break
			}
			q.AfterCustomerID = ids[len(ids)-1]
		}
		took := time.Since(start)
		startPreview := time.Now()
		count, _, err := d.st.PreviewAudience(d.ctx, tc.f, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("EligibleCustomers %-36q %6d ids in %4d pages of 1000: %8s (%s/page); PreviewAudience count %d: %s",
			tc.name, total, pages, took.Round(time.Millisecond), (took / time.Duration(pages)).Round(time.Microsecond),
			count, time.Since(startPreview).Round(time.Millisecond))
		if int64(total) > count {
			t.Fatalf("eligible %d > audience %d", total, count)
		}
	}
}

// seedPerf inserts n customers with 1-5 purchases each (3 on average),
// spread over two years, 4 stores and 3 categories, and their stats as
// RecordPurchase would keep them.
func seedPerf(d *db, n int) {
	d.t.Helper()
	start := time.Now()
	d.exec(`INSERT INTO customers (external_id, name, birthday, consent, lifecycle)
		SELECT 'perf-' || i, '고객' || i,
		       CASE WHEN i % 3 = 0 THEN date '1990-01-01' + (i % 365) END,
		       CASE WHEN i % 4 <> 0 THEN '{"sms": {"granted": true}}'::jsonb ELSE '{}'::jsonb END,
		       CASE WHEN i % 10 = 0 THEN 'dormant' ELSE 'active' END
		FROM generate_series(1, $1::int) i`, n)
	d.exec(`INSERT INTO purchases (external_id, customer_id, amount, currency, category, store, purchased_at)
		SELECT 'perf-' || c.id || '-' || k, c.id, (hashint8(c.id * 7 + k) & 1048575) + 1000, 'KRW',
		       (ARRAY['가전', '의류', '식품'])[1 + ((c.id + k) % 3)::int], (ARRAY['강남점', '홍대점', '부산점', '대구점'])[1 + ((c.id * k) % 4)::int],
		       $1::timestamptz - make_interval(secs => (hashint8(c.id * 13 + k) & 2147483647) % (730 * 86400))
		FROM customers c CROSS JOIN LATERAL generate_series(1, 1 + (c.id % 5)::int) k`, now)
	d.exec(`INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT customer_id, count(*), sum(amount), min(purchased_at), max(purchased_at) FROM purchases GROUP BY customer_id`)
	d.exec(`ANALYZE`)
	var purchases int64
	_ = d.sql.QueryRow(d.ctx, `SELECT count(*) FROM purchases`).Scan(&purchases)
	d.t.Logf("seeded %d customers, %d purchases in %s", n, purchases, time.Since(start).Round(time.Millisecond))
}
