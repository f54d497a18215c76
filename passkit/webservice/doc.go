// Package webservice serves Apple's PassKit web service protocol (v1), the
// endpoints Wallet calls on a pass's webServiceURL to register for update
// pushes, list the passes that changed, fetch the latest version of a pass
// and report errors.
//
// Apple's references:
//
//   - https://developer.apple.com/documentation/walletpasses/adding-a-web-service-to-update-passes
//   - https://developer.apple.com/documentation/walletpasses/register-a-pass-for-update-notifications
//   - https://developer.apple.com/documentation/walletpasses/unregister-a-pass-for-update-notifications
//   - https://developer.apple.com/documentation/walletpasses/get-the-list-of-updatable-passes
//   - https://developer.apple.com/documentation/walletpasses/send-an-updated-pass
//   - https://developer.apple.com/documentation/walletpasses/log-a-message
//   - https://developer.apple.com/library/archive/documentation/PassKit/Reference/PassKit_WebService/WebService.html
//
// [Handler] is an http.Handler for one pass type identifier. It answers,
// relative to the webServiceURL:
//
//	POST   /v1/devices/{device}/registrations/{passType}/{serial}  201, 200, 400, 401
//	DELETE /v1/devices/{device}/registrations/{passType}/{serial}  200, 401
//	GET    /v1/devices/{device}/registrations/{passType}           200, 204 (no auth)
//	GET    /v1/passes/{passType}/{serial}                          200, 304, 401 (HEAD too)
//	POST   /v1/log                                                 200 (no auth)
//
// Requests to register, unregister and fetch carry "Authorization:
// ApplePass <authenticationToken>"; the handler compares the token with the
// one [Backend.PassAuth] (or, for a fetch, [Backend.LatestPass]) returns,
// in constant time. An unknown serial and a
// wrong token both answer 401, so serial numbers cannot be probed. A pass
// type other than the configured one answers 404. Wallet ignores response
// bodies, so errors are plain status codes with a short text body; 5xx
// answers are logged with their cause. Any endpoint that reaches the
// backend may answer 503 with a Retry-After instead of 500 when
// [Config.Unavailable] tells the backend's error is a moment's outage of
// its storage; Wallet retries after the wait.
//
// The handler tolerates what real deployments produce: a doubled slash
// (webServiceURL ending in "/"), a trailing slash, and a mount prefix left
// in the path (chi's Mount) or stripped (http.StripPrefix).
//
// Storage stays behind [Backend]; the update tag is opaque to the handler.
package webservice
