package web

func (h *Handler) accountRoutes() []route { return nil }
