// Package apns sends the push notifications that tell Apple Wallet a pass
// has changed, over the HTTP/2 Apple Push Notification service (APNs)
// provider API with certificate-based authentication.
//
// Apple's references:
//
//   - https://developer.apple.com/documentation/walletpasses/adding-a-web-service-to-update-passes
//   - https://developer.apple.com/library/archive/documentation/UserExperience/Conceptual/PassKit_PG/Updating.html
//   - https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
//   - https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
//   - https://developer.apple.com/documentation/usernotifications/establishing-a-certificate-based-connection-to-apns
//
// A pass update push carries no data: the body is the empty JSON dictionary
// "{}", the topic is the pass type identifier and the TLS client certificate
// is the Pass Type ID certificate that signs the passes. Wallet answers a
// push by asking the PassKit web service (package webservice) which serials
// changed. Pass pushes work only in APNs's production environment.
//
// [Client.Push] sends one push and classifies Apple's answer into an
// [Outcome] that says what the caller should do with the registration:
// keep it, delete it, retry later, or alert an operator. [Client.PushMany]
// fans out to many devices under the same bound on in-flight requests.
//
// The client speaks HTTP/2 only and shares one connection (more only when
// APNs's SETTINGS_MAX_CONCURRENT_STREAMS is reached). Package apnstest holds
// a mock APNs server for tests.
//
// Push tokens are secrets of a sort: log them only through [Redact], as
// [Result.LogValue] does.
package apns
