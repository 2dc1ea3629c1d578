package web

func (h *Handler) meetingRoutes() []route { return nil }
