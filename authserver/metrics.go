package authserver

import "github.com/prometheus/client_golang/prometheus"

// metrics counts token issuance by grant and security events (docs/architecture.md, "Operations").
// A nil *metrics records nothing.
type metrics struct {
	issuedTotal   *prometheus.CounterVec
	securityTotal *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		issuedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgate_oauth_tokens_issued_total",
			Help: "OAuth2 token responses issued, by grant type.",
		}, []string{"grant"}),
		securityTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgate_oauth_security_events_total",
			Help: "Authorization code replays and refresh token reuses detected (each revokes a grant).",
		}, []string{"event"}),
	}
	for _, c := range []prometheus.Collector{m.issuedTotal, m.securityTotal} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) issued(grant string) {
	if m != nil {
		m.issuedTotal.WithLabelValues(grant).Inc()
	}
}

func (m *metrics) security(event string) {
	if m != nil {
		m.securityTotal.WithLabelValues(event).Inc()
	}
}
