package compliance

// SMS encodings, as carriers choose them.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment sizes. A message that fits one segment uses all of it; a longer
// one is sent as concatenated segments, each losing room to the
// concatenation header (6 octets: 7 septets, 3 UTF-16 units).
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (without ESC, 0x1B, which
// only introduces the extension table), one septet each.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: ESC plus the character,
// two septets each.
const gsmExtension = "^{}\\[~]|€\f"

var gsmWidth = func() map[rune]int {
	m := make(map[rune]int, len(gsmBasic)+len(gsmExtension))
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// Segments counts an SMS as carriers bill it: GSM-7 when every character
// is in the GSM 03.38 alphabet or its extension table (an extension
// character takes two septets), 160 septets in one segment or 153 per
// segment; otherwise UCS-2 (UTF-16: a character outside the BMP, such as
// an emoji, takes two units), 70 units in one segment or 67 per segment.
// Korean text is always UCS-2. units is septets for GSM-7 and UTF-16
// code units for UCS-2. A character is never split between segments (an
// escape and its character, the two halves of a surrogate pair): one that
// would straddle starts the next segment, as handsets and carriers split
// them. Empty text is no segment.
func Segments(text string) (encoding string, segments int, units int) {
	encoding = EncodingGSM7
	single, part := gsmSingle, gsmPart
	width := func(r rune) int { return gsmWidth[r] }
	for _, r := range text {
		if gsmWidth[r] == 0 {
			encoding, single, part = EncodingUCS2, ucs2Single, ucs2Part
			width = func(r rune) int {
				if r >= 0x10000 {
					return 2
				}
				return 1
			}
			break
		}
	}
	// A string that is not UTF-8 holds U+FFFD where the bad bytes are,
	// as Go ranges over it and as it would be sent: UCS-2, one unit.
	for _, r := range text {
		units += width(r)
	}
	if units == 0 {
		return encoding, 0, 0
	}
	if units <= single {
		return encoding, 1, units
	}
	segments, used := 1, 0
	for _, r := range text {
		w := width(r)
		if used+w > part {
			segments++
			used = 0
		}
		used += w
	}
	return encoding, segments, units
}
