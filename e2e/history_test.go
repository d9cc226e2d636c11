package e2e

import (
	historypb "go.temporal.io/api/history/v1"
)

type historyList struct {
	Events []*historypb.HistoryEvent
}

func (h *historyList) proto() *historypb.History { return &historypb.History{Events: h.Events} }
