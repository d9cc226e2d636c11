// Package demo seeds a small, realistic store so that every example in the
// README shows something at once: recent buyers, customers who stopped
// coming 3-12 months ago, long-dormant ones, and birthdays this week. It
// writes customers and purchase histories only (no programs), and is safe
// to run again: the same ids are updated, not duplicated.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// Summary says what Seed wrote.
type Summary struct {
	Customers int
	Purchases int
	// Lapsed have not bought for 90 days or more; BirthdaysThisWeek have
	// a birthday within the next 7 days.
	Lapsed            int
	Dormant           int
	BirthdaysThisWeek int
	// SettingsStored: the settings had no sender yet, and the demo's were
	// stored so advertising can go out lawfully.
	SettingsStored bool
}

var (
	names    = []string{"김민수", "이서연", "박지훈", "최유진", "정하늘", "강도윤", "조수아", "윤서준", "장예린", "임재현"}
	stores   = []string{"강남점", "홍대점", "부산서면점"}
	products = []struct{ category, product, amount string }{
		{"가전", "비스포크 냉장고", "1290000"}, {"가전", "공기청정기", "459000"}, {"의류", "울 코트", "239000"},
		{"의류", "니트", "89000"}, {"뷰티", "수분 크림", "45000"}, {"식품", "한우 선물세트", "150000"},
	}
)

// profile is one kind of customer the demo store has.
type profile struct {
	prefix string
	count  int
	// lastBought is how many days ago the newest purchase was.
	lastBought func(i int) int
	purchases  int
}

// Seed writes 40 customers with consent to SMS, mail and calls, and their
// purchases, relative to now.
func Seed(ctx context.Context, st *store.Store, now time.Time) (Summary, error) {
	var sum Summary
	// Advertising is held until the settings name a sender, a contact and
	// an 080 number; the demo store gets its own unless some are set.
	set, err := st.Settings(ctx)
	if err == nil && set.SenderName == "" {
		set.SenderName, set.SenderContact, set.OptOutNumber = "단골상점", "02-555-0100", "080-555-0100"
		if _, err := st.PutSettings(ctx, set, "demo"); err != nil {
			return sum, err
		}
		sum.SettingsStored = true
	}
	profiles := []profile{
		{"demo-recent", 12, func(i int) int { return 2 + i*2 }, 2},
		{"demo-lapsed", 16, func(i int) int { return 95 + i*15 }, 3},
		{"demo-dormant", 6, func(i int) int { return 400 + i*30 }, 1},
		{"demo-birthday", 6, func(i int) int { return 20 + i*10 }, 2},
	}
	seq := 0
	for _, p := range profiles {
		for i := range p.count {
			seq++
			c, err := customer(ctx, st, fmt.Sprintf("%s-%02d", p.prefix, i+1), seq, p.prefix == "demo-birthday", i, now)
			if err != nil {
				return sum, err
			}
			sum.Customers++
			last := p.lastBought(i)
			switch {
			case last >= 365:
				sum.Dormant++
			case last >= 90:
				sum.Lapsed++
			}
			if p.prefix == "demo-birthday" {
				sum.BirthdaysThisWeek++
			}
			for k := range p.purchases {
				item := products[(seq+k)%len(products)]
				days := last + k*45
				_, created, _, err := st.RecordPurchase(ctx, store.Purchase{
					ExternalID: fmt.Sprintf("%s-o%d", c.ExternalID, k+1), CustomerID: c.ID, Amount: item.amount, Currency: "KRW",
					Category: item.category, Product: item.product, Store: stores[seq%len(stores)],
					PurchasedAt: now.AddDate(0, 0, -days).Truncate(time.Second),
				}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
				if err != nil && err != store.ErrConflict {
					return sum, fmt.Errorf("purchase of %s: %w", c.ExternalID, err)
				}
				if created {
					sum.Purchases++
				}
			}
		}
	}
	return sum, nil
}

func customer(ctx context.Context, st *store.Store, id string, seq int, birthdaySoon bool, i int, now time.Time) (store.Customer, error) {
	phone := fmt.Sprintf("+8210%04d%04d", 5550, seq)
	email := fmt.Sprintf("%s@example.com", id)
	loc, _ := time.LoadLocation("Asia/Seoul")
	day := now.In(loc).AddDate(0, 0, 1+i) // 1-6 days ahead: "this week"
	if !birthdaySoon {
		day = now.In(loc).AddDate(0, 0, 60+seq*7)
	}
	birthday := time.Date(1975+seq%30, day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	granted := store.Consent{Granted: true, At: now.UTC(), Source: "demo"}
	c, _, err := st.UpsertCustomer(ctx, store.Customer{
		ExternalID: id, Name: names[seq%len(names)], Phone: &phone, Email: &email, Birthday: &birthday,
		TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{domain.ChannelSMS: granted, domain.ChannelEmail: granted, domain.ChannelCall: granted},
	})
	if err != nil {
		return c, fmt.Errorf("customer %s: %w", id, err)
	}
	return c, nil
}
