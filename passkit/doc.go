// Package passkit builds, signs and checks Apple Wallet passes (.pkpass
// bundles), with loyalty cards (the storeCard style) as the main use.
//
// It implements the pass package format Apple documents in WalletPasses:
//
//   - https://developer.apple.com/documentation/walletpasses
//   - https://developer.apple.com/documentation/walletpasses/pass
//   - https://developer.apple.com/documentation/walletpasses/building-a-pass
//   - https://developer.apple.com/documentation/walletpasses/creating-the-source-for-a-pass
//
// The pieces:
//
//   - [Pass] and its parts model pass.json; [Pass.Validate] lists what Wallet
//     would reject or what Apple documents as wrong.
//   - [Credentials] hold the Pass Type ID certificate, its key and the Apple
//     WWDR intermediate; [LoadPEM] and [LoadP12] read them and
//     [Credentials.Check] explains what does not fit.
//   - [Signer] turns a pass and its files into a signed, zipped .pkpass.
//     [Manifest] and [Signer.Sign] are the lower-level steps.
//   - [GenerateDev], [LoadOrGenerateDev] and [NewDevCredentials] make
//     development credentials whose "WWDR" is a local CA.
//   - [Verify] checks a .pkpass the way a device would and returns one
//     [Problem] per finding.
//   - [CheckImage] checks one uploaded icon, logo or strip against the
//     store card image sizes before it goes into any pass
//     (https://developer.apple.com/design/human-interface-guidelines/wallet#Pass-image-dimensions).
//
// The package knows nothing of HTTP routing or storage. It keeps no package
// state: everything lives in values the caller creates.
package passkit
