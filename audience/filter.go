// Package audience turns a marketer's declarative filter ("lapsed over 90
// days, grade A, bought in 가전, has SMS consent") into parameterised SQL
// over customers and their purchase statistics.
package audience

// Filter selects customers. Every set field must hold (AND); an empty
// filter selects everyone. Stored as JSON in a program's params.
type Filter struct {
	// Days since the last purchase: lapsed customers have
	// LastPurchaseOlderThanDays; recent ones LastPurchaseNewerThanDays.
	LastPurchaseOlderThanDays *int `json:"last_purchase_older_than_days,omitempty"`
	LastPurchaseNewerThanDays *int `json:"last_purchase_newer_than_days,omitempty"`
	MinPurchases              *int `json:"min_purchases,omitempty"`
	MaxPurchases              *int `json:"max_purchases,omitempty"`
	// Spend bounds are decimal strings in the purchases' currency.
	MinTotalSpend *string `json:"min_total_spend,omitempty"`
	MaxTotalSpend *string `json:"max_total_spend,omitempty"`
	MinAvgSpend   *string `json:"min_avg_spend,omitempty"`
	MaxAvgSpend   *string `json:"max_avg_spend,omitempty"`
	// Grades is any of "A", "B", "C" (seed 003: A/B/C by spend and frequency).
	Grades []string `json:"grades,omitempty"`
	// Stores and Categories: bought at any of these stores / in any of
	// these categories, ever.
	Stores      []string `json:"stores,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	HasBirthday *bool    `json:"has_birthday,omitempty"`
	// Consent is a channel (sms, email, call) the customer must have
	// granted; programs set it to their channel.
	Consent string `json:"consent,omitempty"`
	// Lifecycle is "active" or "dormant"; empty means either.
	Lifecycle string `json:"lifecycle,omitempty"`
}
