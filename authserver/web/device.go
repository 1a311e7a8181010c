package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/netaddr"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/scopes"
)

// The verification page of the device authorization grant (RFC 8628 §3.3):
// the signed-in user types the code their device shows, sees the consent
// page for that device's client and approves or denies. See
// docs/device-flow.md, "The verification page".

const webPathDevice = authserver.PathDeviceVerification

// Guessing user codes is rate-limited per user and per client address
// (RFC 8628 §5.1): a burst of deviceAttempts wrong codes, then one more
// every deviceWindow/deviceAttempts.
const (
	deviceAttempts = 10
	deviceWindow   = 10 * time.Minute
)

// Devices is what the verification page needs from the authorization
// server (*authserver.Server).
type Devices interface {
	PendingDevice(ctx context.Context, typed string) (authserver.DeviceRequest, bool, error)
	DecideDevice(ctx context.Context, userCode string, userID int64, approve bool) (bool, error)
}

// devicePage serves GET /device: the code form, pre-filled from
// verification_uri_complete's user_code.
func (w *Pages) devicePage(c *gin.Context) {
	returnTo := webPathDevice
	if c.Request.URL.RawQuery != "" {
		returnTo += "?" + c.Request.URL.RawQuery
	}
	cur := w.signedIn(c, returnTo)
	if cur == nil {
		return
	}
	w.renderDeviceForm(c, http.StatusOK, cur, c.Query("user_code"), "")
}

func (w *Pages) renderDeviceForm(c *gin.Context, status int, cur *sessions.Current, code, msg string) {
	if len(code) > 32 {
		code = ""
	}
	w.render(c, status, "device.html", map[string]any{
		"Title": "Connect a device", "User": cur.User, "CSRF": cur.CSRFToken(), "Action": webPathDevice,
		"UserCode": code, "Error": msg,
	})
}

// deviceSubmit serves POST /device: without a decision, the code form's
// submission (a right code shows the consent page, a wrong one the form
// again with an error); with one, the consent page's Allow or Deny.
func (w *Pages) deviceSubmit(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site. Open the page again and enter the code.")
	if cur == nil {
		return
	}
	typed := c.PostForm("user_code")
	switch c.PostForm("decision") {
	case "":
		w.deviceCode(c, cur, typed)
	case "allow", "deny":
		w.deviceDecide(c, cur, typed, c.PostForm("decision") == "allow")
	default:
		w.errorPage(c, http.StatusBadRequest, "Request refused", "The decision was not understood.")
	}
}

// takeDeviceAttempt reserves a code attempt for the user and the client
// address; refund gives it back after a right code.
func (w *Pages) takeDeviceAttempt(c *gin.Context, cur *sessions.Current) (ok bool, wait time.Duration, refund func()) {
	ok, wait, refundUser := w.deviceLimiter.Take("user\x00" + strconv.FormatInt(cur.User.ID, 10))
	if !ok {
		return false, wait, nil
	}
	ok, wait, refundIP := w.deviceLimiter.Take("ip\x00" + netaddr.Key(c.ClientIP()))
	if !ok {
		refundUser()
		return false, wait, nil
	}
	return true, 0, func() { refundUser(); refundIP() }
}

func (w *Pages) deviceCode(c *gin.Context, cur *sessions.Current, typed string) {
	ok, wait, refund := w.takeDeviceAttempt(c, cur)
	if !ok {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		w.renderDeviceForm(c, http.StatusTooManyRequests, cur, "",
			"Too many wrong codes. Wait "+strconv.Itoa(int(wait.Seconds())+1)+" seconds and try again.")
		return
	}
	req, found, err := w.deps.Devices.PendingDevice(c.Request.Context(), typed)
	if err != nil {
		refund()
		w.internalError(c, "look up device code", err)
		return
	}
	if !found {
		w.renderDeviceForm(c, http.StatusBadRequest, cur, typed,
			"That code is not valid or has expired. Check the code on your device and try again.")
		return
	}
	refund()
	cl, known, err := w.deps.Clients.LookupClient(c.Request.Context(), req.ClientID)
	if err != nil {
		w.internalError(c, "look up client", err)
		return
	}
	if !known || !cl.Active {
		w.renderDeviceForm(c, http.StatusBadRequest, cur, "", "The application that asked for this code is no longer registered.")
		return
	}
	w.renderDeviceConsent(c, cur, cl, req)
}

// renderDeviceConsent shows the consent page (the authorization
// endpoint's) for a device's request; the decision posts back here with
// the user code.
func (w *Pages) renderDeviceConsent(c *gin.Context, cur *sessions.Current, cl Client, req authserver.DeviceRequest) {
	granted := scopes.Set{}
	if cons, err := w.deps.Consents.Get(c.Request.Context(), cur.User.ID, cl.ID); err == nil {
		granted = cons.Scopes
	} else if !errors.Is(err, authserver.ErrConsentNotFound) {
		w.internalError(c, "load consent", err)
		return
	}
	ar := &authzRequest{Client: cl, Scope: req.Scope}
	w.renderConsentWith(c, ar, cur, granted, webPathDevice, url.Values{"user_code": {req.UserCode}})
}

func (w *Pages) deviceDecide(c *gin.Context, cur *sessions.Current, typed string, approve bool) {
	ctx := c.Request.Context()
	// The decision names a user code too: it is a guess like the form's,
	// so it spends an attempt unless the code is right.
	allowed, wait, refund := w.takeDeviceAttempt(c, cur)
	if !allowed {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		w.renderDeviceForm(c, http.StatusTooManyRequests, cur, "",
			"Too many wrong codes. Wait "+strconv.Itoa(int(wait.Seconds())+1)+" seconds and try again.")
		return
	}
	req, found, err := w.deps.Devices.PendingDevice(ctx, typed)
	if err != nil {
		refund()
		w.internalError(c, "look up device code", err)
		return
	}
	if found {
		refund()
	}
	if found && approve {
		// Remember the consent, so the account page lists the device's
		// access and can withdraw it.
		if _, err := w.deps.Consents.Grant(ctx, cur.User.ID, req.ClientID, req.Scope); err != nil {
			w.internalError(c, "record consent", err)
			return
		}
	}
	ok := false
	if found {
		if ok, err = w.deps.Devices.DecideDevice(ctx, req.UserCode, cur.User.ID, approve); err != nil {
			w.internalError(c, "decide device code", err)
			return
		}
	}
	switch {
	case !ok:
		w.renderDeviceForm(c, http.StatusBadRequest, cur, "", "That code has expired or was already used. Start again on your device.")
	case approve:
		w.render(c, http.StatusOK, "device_done.html", map[string]any{
			"Title": "Device connected", "Message": "You allowed the device. It will finish signing in on its own.",
		})
	default:
		w.render(c, http.StatusOK, "device_done.html", map[string]any{
			"Title": "Request denied", "Message": "You denied the device's request. It has not been given access.",
		})
	}
}
