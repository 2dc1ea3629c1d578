package web

func (h *Handler) proposalRoutes() []route { return nil }
