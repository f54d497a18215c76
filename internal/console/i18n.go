package console

import "github.com/passd/passd/internal/htmlpage"

// uiStrings are the console's words. Keys missing in a language fall back
// to English.
var uiStrings = htmlpage.Words{
	"en": {
		"console":             "passd console",
		"signed_in_as":        "Signed in as",
		"sign_out":            "Sign out",
		"sign_out_everywhere": "Sign out everywhere",
		"login_title":         "Sign in",
		"email_label":         "Email",
		"password_label":      "Password",
		"sign_in":             "Sign in",
		"err_login":           "The email or the password is not right, or the account is disabled.",
		"err_form_expired":    "This form expired or did not come from this page. Please try again.",
		"err_throttled":       "Too many failed sign-ins. Wait %d minutes, then try again.",
		"signed_out":          "You are signed out.",
		"signed_out_all":      "You are signed out on every device.",
		"password_set":        "Your password is set. Sign in with it.",
		"setpw_title":         "Choose your password",
		"new_password_label":  "New password",
		"password_rules":      "At least 12 characters. A few unrelated words make a good one.",
		"confirm_label":       "The same password again",
		"setpw_submit":        "Set my password",
		"err_pw_short":        "The password must have at least 12 characters.",
		"err_pw_long":         "The password can be at most 1024 bytes long.",
		"err_pw_mismatch":     "The two passwords differ.",
		"err_link":            "This link is not valid: it was used already, it expired, or the account is disabled. Ask an administrator for a new one.",
		"dashboard_title":     "Dashboard",
		"programs_caption":    "Your programmes and their members",
		"program_col":         "Programme",
		"members_col":         "Members",
		"no_programs":         "No programme yet.",
		"more_soon":           "Figures, members and the card's look come to the console next.",
		"error_title":         "Something went wrong",
		"err_too_large":       "The form was too large.",
		"err_internal":        "Something went wrong on our side. Please try again in a moment.",
		"err_unavailable":     "Our service is unavailable for a moment. Please try again in a few seconds.",
		"err_not_found":       "There is no such page.",
		"back_to_login":       "Back to sign-in",
	},
	"fr": {
		"console":             "Console passd",
		"signed_in_as":        "Connecté·e en tant que",
		"sign_out":            "Se déconnecter",
		"sign_out_everywhere": "Se déconnecter partout",
		"login_title":         "Connexion",
		"email_label":         "E-mail",
		"password_label":      "Mot de passe",
		"sign_in":             "Se connecter",
		"err_login":           "L'e-mail ou le mot de passe est incorrect, ou le compte est désactivé.",
		"err_form_expired":    "Ce formulaire a expiré ou ne provient pas de cette page. Veuillez réessayer.",
		"err_throttled":       "Trop de connexions échouées. Attendez %d minutes, puis réessayez.",
		"signed_out":          "Vous êtes déconnecté·e.",
		"signed_out_all":      "Vous êtes déconnecté·e sur tous les appareils.",
		"password_set":        "Votre mot de passe est enregistré. Connectez-vous avec.",
		"setpw_title":         "Choisissez votre mot de passe",
		"new_password_label":  "Nouveau mot de passe",
		"password_rules":      "Au moins 12 caractères. Quelques mots sans rapport en font un bon.",
		"confirm_label":       "Le même mot de passe à nouveau",
		"setpw_submit":        "Enregistrer mon mot de passe",
		"err_pw_short":        "Le mot de passe doit compter au moins 12 caractères.",
		"err_pw_long":         "Le mot de passe ne peut dépasser 1024 octets.",
		"err_pw_mismatch":     "Les deux mots de passe diffèrent.",
		"err_link":            "Ce lien n'est pas valide : il a déjà servi, il a expiré, ou le compte est désactivé. Demandez-en un nouveau à un administrateur.",
		"dashboard_title":     "Tableau de bord",
		"programs_caption":    "Vos programmes et leurs membres",
		"program_col":         "Programme",
		"members_col":         "Membres",
		"no_programs":         "Aucun programme pour l'instant.",
		"more_soon":           "Les chiffres, les membres et l'apparence de la carte arrivent bientôt dans la console.",
		"error_title":         "Un problème est survenu",
		"err_too_large":       "Le formulaire était trop volumineux.",
		"err_internal":        "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.",
		"err_unavailable":     "Notre service est momentanément indisponible. Veuillez réessayer dans quelques secondes.",
		"err_not_found":       "Cette page n'existe pas.",
		"back_to_login":       "Retour à la connexion",
	},
}

// T is the console's words in one language.
type T struct{ Lang string }

// Get answers the text of key in the page's language.
func (t T) Get(key string) string {
	if s := scanStrings.Get(t.Lang, key); s != "" {
		return s
	}
	if _, ok := pageStrings["en"][key]; ok {
		return pageStrings.Get(t.Lang, key)
	}
	return uiStrings.Get(t.Lang, key)
}

// language picks the console's language from an Accept-Language header:
// the most wanted one the console speaks, English when none.
func language(header string) string { return uiStrings.Pick(header, "en") }
