package twiliostandin

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
)

// resource is Twilio's JSON for a Message. Fields Twilio answers with null
// are pointers so they encode as null rather than "" or 0: clients that
// tell "unset" from "empty" must see what Twilio sends.
type resource struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// twilioTime is how Twilio's 2010 API writes dates: RFC 1123 with a numeric
// zone, always GMT ("Thu, 24 Aug 2023 05:01:45 +0000").
func twilioTime(t time.Time) string {
	return t.UTC().Format(time.RFC1123Z)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toResource(m Message) resource {
	base := "/2010-04-01/Accounts/" + m.AccountSid + "/Messages/" + m.Sid
	r := resource{
		AccountSid:          m.AccountSid,
		APIVersion:          apiVersion,
		Body:                m.Body,
		DateCreated:         twilioTime(m.Created),
		DateUpdated:         twilioTime(m.Updated),
		Direction:           "outbound-api",
		From:                optional(m.From),
		MessagingServiceSid: optional(m.MessagingServiceSid),
		NumMedia:            "0",
		NumSegments:         strconv.Itoa(segments(m.Body)),
		PriceUnit:           "USD",
		Sid:                 m.Sid,
		Status:              m.Status,
		SubresourceURIs: map[string]string{
			"media":    base + "/Media.json",
			"feedback": base + "/Feedback.json",
		},
		To:  m.To,
		URI: base + ".json",
	}
	if !m.Sent.IsZero() {
		r.DateSent = optional(twilioTime(m.Sent))
	}
	return r
}

// apiError is Twilio's error body, which twilio-go decodes into
// client.TwilioRestError.
type apiError struct {
	Code     int    `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func moreInfo(code int) string {
	return "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, apiError{Code: code, Message: message, MoreInfo: moreInfo(code), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Twilio writes page URIs with a literal "&"; Go would escape it.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Signature computes the X-Twilio-Signature Twilio puts on a webhook: the
// base64 HMAC-SHA1, keyed with the auth token, of the full URL followed by
// every POST parameter name and value, sorted by name. Exported so tests of
// webhook handlers can sign requests without running the stand-in.
func Signature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		// Repeated parameters: Twilio's own validators sort the values of
		// a name too, so the signature does not depend on their order.
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range vs {
			mac.Write([]byte(k + v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// gsm7 is the GSM 03.38 default alphabet; gsm7Ext the characters that take
// an escape plus one septet. A body outside both is sent as UCS-2, which
// shrinks segments from 160/153 to 70/67 characters: num_segments is what
// Twilio bills, so it is worth getting roughly right.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

var gsm7Set, gsm7ExtSet = runeSet(gsm7), runeSet(gsm7Ext)

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

func segments(body string) int {
	septets, ok := 0, true
	for _, r := range body {
		switch {
		case gsm7Set[r]:
			septets++
		case gsm7ExtSet[r]:
			septets += 2
		default:
			ok = false
		}
	}
	units, single, multi := septets, 160, 153
	if !ok {
		units, single, multi = len(utf16.Encode([]rune(body))), 70, 67
	}
	if units <= single {
		return 1
	}
	return (units + multi - 1) / multi
}
