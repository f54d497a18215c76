// Package googlewallet issues and maintains Google Wallet loyalty cards.
//
// It is a library: it knows nothing of passd's HTTP routing or storage and
// takes plain inputs. One [Program] becomes one LoyaltyClass
// ({issuer}.{program}); one [Card] becomes one LoyaltyObject
// ({issuer}.{member}). The Client talks to the Wallet Objects REST API
// through google.golang.org/api/walletobjects/v1, authenticated with a
// service-account key (golang.org/x/oauth2 JWT flow, scope
// wallet_object.issuer, token_uri taken from the key file).
//
// Google behaviours this package is built around:
//
//   - The generated Go client never retries. Every call here is retried on
//     429, 5xx and transport errors with capped exponential backoff and
//     jitter; errors that remain are classified ([IsRetryable],
//     [ErrNotFound], [ErrConflict], [ErrPermissionDenied], [ErrInvalid]) so a
//     sync engine can decide what to do.
//   - Tier is a class field (rewardsTier), so it cannot differ per member.
//     This package shows the member's tier as secondaryLoyaltyPoints with
//     the label "Tier" and a string balance: it sits on the front of the
//     card next to the points, which a text module (back of the card) would
//     not.
//   - A zero points balance is dropped by the client's omitempty unless it
//     is forced; it is always forced here.
//   - PATCH replaces arrays whole. The object's textModulesData array is
//     built entirely from the Card and always sent whole; the messages array
//     is only ever appended to through addMessage (and trimmed whole when it
//     would exceed Google's limit of 10).
//   - notifyPreference is ephemeral and must be resent on each update that
//     should notify; Google allows at most 3 notifications per pass per 24
//     hours ([NotifyAllowed]).
//   - Objects and classes cannot be deleted; [Client.Retire] makes a pass
//     INACTIVE and strips its personal data instead.
//   - Labels and headers ("Points", "Tier", "Terms", the message header)
//     are sent with localizedLabel or localizedHeader when the caller gives
//     their translations ([Labels], [LabelsFromStrings]), so each user
//     sees them in their phone's language.
//   - Google crops the program logo to a circle: a square logo of at least
//     660x660 px ([CheckSquareLogo], Program.SquareLogoURL) shows whole,
//     a wide one loses its sides.
//   - Save links reference objects by id only ("skinny JWT") so they stay
//     within 1,800 characters ([MaxSaveURLLength]).
//   - Google posts save and delete events of a class's objects to the
//     class's callbackOptions.url (Program.CallbackURL), signed with the
//     ECv2SigningOnly scheme of Google Pay minus decryption.
//     [CallbackVerifier] checks them with the root keys Google publishes
//     ([DefaultCallbackKeysURL]). Delivery is best effort with retries, so
//     the same nonce can arrive twice.
//
// Which environment enables Google Wallet is the caller's decision: an empty
// issuer id means off. [ConfigFromEnvValues] turns the PASSD_GOOGLE_*
// settings into a Config.
//
// Reference: https://developers.google.com/wallet/reference/rest (Wallet
// Objects REST API), https://developers.google.com/wallet/retail/loyalty-cards
// (loyalty cards guide), https://developers.google.com/wallet/reference/rest/v1/Jwt
// (save JWT),
// https://developers.google.com/wallet/retail/loyalty-cards/use-cases/use-callbacks-for-saves-and-deletions
// (callbacks) and
// https://developers.google.com/pay/api/android/guides/resources/payment-data-cryptography
// (the signed-string format).
package googlewallet
