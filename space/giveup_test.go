package space

import "testing"

func TestIsGiveUp(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{"I cannot improve on the previous architecture.", true},
		{"Unfortunately, I can't suggest a better operation list than [2, 2, 2, 1, 2, 2, 2, 0].", true},
		{"I am unable to find a better design given these results.", true},
		{"No further improvement is possible with the given operations.", true},
		{"There are no further improvements to be made.", true},
		{"I believe this is optimal.", true},
		{"I believe that the current architecture is already optimal.", true},
		{"The channel list [256, 192, 256, 512, 512, 256, 512] is already optimal.", true},
		{"This design cannot be improved further.", true},
		{"I CAN’T IMPROVE this any more.", true},

		{"[2, 2, 2, 1, 2, 2, 2, 0]", false},
		{"This should improve the accuracy.", false},
		{"We can improve the model by widening layer 4.", false},
		{"If this cannot be improved, we should try wider layers. Try [2, 2, 2, 2, 2, 2, 2, 2].", false},
		{"In case I cannot improve it, the fallback is the previous list.", false},
		{"I'm not sure I cannot improve it; let's try [1, 2, 2, 2, 1, 2, 2, 2].", false},
		{"It is not optimal yet, so I suggest a deeper network.", false},
		{"The optimal choice is probably operation 2 in every layer.", false},
		{"Layer 3 is already optimal, so I only change layer 5: [2, 2, 1, 1, 2, 2, 2, 0].", false},
		{"This design is already the best possible in my view.", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsGiveUp(tt.reply); got != tt.want {
			t.Errorf("IsGiveUp(%q) = %v, want %v", tt.reply, got, tt.want)
		}
	}
}
