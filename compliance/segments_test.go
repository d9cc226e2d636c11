package compliance

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	r := strings.Repeat
	cases := []struct {
		name     string
		text     string
		encoding string
		segments int
		units    int
	}{
		{"empty", "", EncodingGSM7, 0, 0},
		{"one letter", "a", EncodingGSM7, 1, 1},
		{"GSM 160 fits one", r("a", 160), EncodingGSM7, 1, 160},
		{"GSM 161 is two", r("a", 161), EncodingGSM7, 2, 161},
		{"GSM 306 is two", r("a", 306), EncodingGSM7, 2, 306},
		{"GSM 307 is three", r("a", 307), EncodingGSM7, 3, 307},
		{"GSM accented basic letters", "Ça coûte 5€? ÄÖÑÜ", EncodingUCS2, 1, 17}, // û is not GSM
		{"GSM basic accents", "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà¡¿§£¥¤", EncodingGSM7, 1, 29},
		{"GSM Greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", EncodingGSM7, 1, 10},
		{"extension counts two", "{}", EncodingGSM7, 1, 4},
		{"all extension chars", "^{}\\[~]|€\f", EncodingGSM7, 1, 20},
		{"80 euros fill one segment", r("€", 80), EncodingGSM7, 1, 160},
		{"159 + an extension char is two", r("a", 159) + "€", EncodingGSM7, 2, 161},
		{"153 and a pair is two", r("a", 153) + "€" + r("a", 6), EncodingGSM7, 2, 161},
		{"an escape pair never straddles: 152 + pair + 152", r("a", 152) + "€" + r("a", 152), EncodingGSM7, 3, 306},
		{"306 basic septets are two", r("a", 306), EncodingGSM7, 2, 306},
		{"UCS-2 70 fits one", r("가", 70), EncodingUCS2, 1, 70},
		{"UCS-2 71 is two", r("가", 71), EncodingUCS2, 2, 71},
		{"UCS-2 134 is two", r("가", 134), EncodingUCS2, 2, 134},
		{"UCS-2 135 is three", r("가", 135), EncodingUCS2, 3, 135},
		{"one Korean letter makes it all UCS-2", r("a", 100) + "가", EncodingUCS2, 2, 101},
		{"an emoji is two units", "😀", EncodingUCS2, 1, 2},
		{"35 emoji fill one", r("😀", 35), EncodingUCS2, 1, 70},
		{"69 units and an emoji is two", r("가", 69) + "😀", EncodingUCS2, 2, 71},
		{"69 units with a pair fit one", r("가", 66) + "😀" + "가", EncodingUCS2, 1, 69},
		{"pair would straddle 67", r("가", 66) + "😀" + r("가", 66), EncodingUCS2, 3, 134},
		{"pairs only: 67 units hold 33", r("😀", 36), EncodingUCS2, 2, 72},
		{"invalid UTF-8 is UCS-2", "a\xff", EncodingUCS2, 1, 2},
		{"Korean ad", "(광고)단골상회 봄 세일\n무료수신거부 080-123-4567", EncodingUCS2, 1, 33},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, seg, units := Segments(c.text)
			if enc != c.encoding || seg != c.segments || units != c.units {
				t.Fatalf("Segments = %s, %d, %d; want %s, %d, %d", enc, seg, units, c.encoding, c.segments, c.units)
			}
		})
	}
}

// TestSegmentsLong: texts as long as programs.MaxSMSChars allows.
func TestSegmentsLong(t *testing.T) {
	if _, seg, _ := Segments(strings.Repeat("가", 1600)); seg != 24 { // ceil(1600/67)
		t.Fatalf("1600 Korean letters: %d segments, want 24", seg)
	}
	if _, seg, _ := Segments(strings.Repeat("a", 1600)); seg != 11 { // ceil(1600/153)
		t.Fatalf("1600 GSM letters: %d segments, want 11", seg)
	}
}
