package web

import (
	"github.com/passd/passd/internal/htmlpage"
	"github.com/passd/passd/internal/loyalty"
)

// uiStrings are the words of the pages that do not come from the program's
// template. Keys missing in a language fall back to English.
var uiStrings = htmlpage.Words{
	"en": {
		"join_title":         "Join %s",
		"name_label":         "Your name",
		"email_label":        "Email",
		"birthday_label":     "Birthday",
		"optional":           "optional",
		"terms_heading":      "Terms of the programme",
		"consent_label":      "I accept the terms of the programme",
		"marketing_label":    "Send me offers and news by email (optional)",
		"marketing_hint":     "You can join without this, and change your mind at any time.",
		"submit":             "Join and get my card",
		"errors_summary":     "Please correct the fields marked below.",
		"err_name_required":  "Enter your name.",
		"err_name_long":      "Your name can be at most 200 characters.",
		"err_name_control":   "Your name contains characters that are not allowed.",
		"err_email_required": "Enter your email address.",
		"err_email_invalid":  "Enter an email address such as ada@example.com.",
		"err_birthday":       "Enter a date such as 1990-12-31, or leave the field empty.",
		"err_birthday_range": "Enter a past date after 1900.",
		"err_consent":        "You must accept the terms to join.",
		"result_title":       "Your card is ready",
		"result_intro":       "Add it to your phone's wallet and show it at the till to earn points.",
		"points_label":       "Points",
		"tier_label":         "Tier",
		"member_label":       "Member",
		"number_label":       "Number",
		"add_apple":          "Add to Apple Wallet",
		"add_google":         "Add to Google Wallet",
		"handoff_title":      "On a computer?",
		"handoff_text":       "Scan this code with your phone's camera to open this page on the phone and add the card there.",
		"barcode_alt":        "Barcode of your card",
		"handoff_alt":        "QR code that opens this page on a phone",
		"error_title":        "Something went wrong",
		"err_form_expired":   "This form expired or did not come from this page. Nothing was saved: please fill it in again.",
		"err_not_found":      "This card link is not valid. Ask for a new one or join again.",
		"err_too_large":      "The form was too large.",
		"err_internal":       "Something went wrong on our side. Please try again in a moment.",
		"err_unavailable":    "Our service is unavailable for a moment. Please try again in a few seconds.",
		"back_to_form":       "Back to the form",
		"not_found_title":    "Page not found",
		"err_no_program":     "There is no loyalty programme at this address. Check the link or the code you scanned.",
		"err_no_page":        "There is no page at this address.",
		"meta_description":   "Join %s: get your loyalty card in Apple Wallet or Google Wallet and earn points at every visit.",
		"privacy_heading":    "Your data",
		"privacy_default": "%s keeps your name, your email address, your birthday if you give it, and the history of your points, " +
			"to run this loyalty programme and keep the card on your phone up to date. Nothing is sold or shared for advertising.\n" +
			"They are kept while you are a member and erased when you leave the programme. " +
			"To get a copy of your data, or to have it erased, ask %s: at the till, or by writing to them.",
		"honeypot_label":     "Leave this field empty",
		"rate_limited_title": "Please wait a moment",
		"err_rate_limited":   "Many people joined from here in a short time. Nothing was saved: please try again in %d min.",
	},
	"fr": {
		"join_title":         "Rejoindre %s",
		"name_label":         "Votre nom",
		"email_label":        "E-mail",
		"birthday_label":     "Date de naissance",
		"optional":           "facultatif",
		"terms_heading":      "Conditions du programme",
		"consent_label":      "J'accepte les conditions du programme",
		"marketing_label":    "Envoyez-moi des offres et des nouvelles par e-mail (facultatif)",
		"marketing_hint":     "Vous pouvez vous inscrire sans cela et changer d'avis à tout moment.",
		"submit":             "M'inscrire et obtenir ma carte",
		"errors_summary":     "Veuillez corriger les champs signalés ci-dessous.",
		"err_name_required":  "Indiquez votre nom.",
		"err_name_long":      "Votre nom ne peut dépasser 200 caractères.",
		"err_name_control":   "Votre nom contient des caractères non autorisés.",
		"err_email_required": "Indiquez votre adresse e-mail.",
		"err_email_invalid":  "Indiquez une adresse e-mail comme ada@example.com.",
		"err_birthday":       "Indiquez une date comme 1990-12-31, ou laissez le champ vide.",
		"err_birthday_range": "Indiquez une date passée, après 1900.",
		"err_consent":        "Vous devez accepter les conditions pour vous inscrire.",
		"result_title":       "Votre carte est prête",
		"result_intro":       "Ajoutez-la au portefeuille de votre téléphone et présentez-la en caisse pour gagner des points.",
		"points_label":       "Points",
		"tier_label":         "Niveau",
		"member_label":       "Membre",
		"number_label":       "Numéro",
		"add_apple":          "Ajouter à Apple Wallet",
		"add_google":         "Ajouter à Google Wallet",
		"handoff_title":      "Sur un ordinateur ?",
		"handoff_text":       "Scannez ce code avec l'appareil photo de votre téléphone pour ouvrir cette page sur le téléphone et y ajouter la carte.",
		"barcode_alt":        "Code-barres de votre carte",
		"handoff_alt":        "Code QR qui ouvre cette page sur un téléphone",
		"error_title":        "Un problème est survenu",
		"err_form_expired":   "Ce formulaire a expiré ou ne provient pas de cette page. Rien n'a été enregistré : veuillez le remplir à nouveau.",
		"err_not_found":      "Ce lien de carte n'est pas valide. Demandez-en un nouveau ou inscrivez-vous à nouveau.",
		"err_too_large":      "Le formulaire était trop volumineux.",
		"err_internal":       "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.",
		"err_unavailable":    "Notre service est momentanément indisponible. Veuillez réessayer dans quelques secondes.",
		"back_to_form":       "Retour au formulaire",
		"not_found_title":    "Page introuvable",
		"err_no_program":     "Aucun programme de fidélité à cette adresse. Vérifiez le lien ou le code que vous avez scanné.",
		"err_no_page":        "Aucune page à cette adresse.",
		"meta_description":   "Rejoignez %s : recevez votre carte de fidélité dans Apple Wallet ou Google Wallet et gagnez des points à chaque visite.",
		"privacy_heading":    "Vos données",
		"privacy_default": "%s conserve votre nom, votre adresse e-mail, votre date de naissance si vous la donnez et l'historique de vos points, " +
			"pour gérer ce programme de fidélité et tenir à jour la carte de votre téléphone. Rien n'est vendu ni partagé à des fins publicitaires.\n" +
			"Elles sont conservées tant que vous êtes membre et effacées quand vous quittez le programme. " +
			"Pour obtenir une copie de vos données ou les faire effacer, demandez-le à %s : en caisse ou par écrit.",
		"honeypot_label":     "Laissez ce champ vide",
		"rate_limited_title": "Merci de patienter",
		"err_rate_limited":   "Beaucoup d'inscriptions depuis cet endroit en peu de temps. Rien n'a été enregistré : veuillez réessayer dans %d min.",
	},
}

// T is the page's words in one language.
type T struct {
	Lang string
}

// Get answers the text of key in the page's language.
func (t T) Get(key string) string { return uiStrings.Get(t.Lang, key) }

// pageLanguage picks the page's language: the first the browser wants that
// passd's pages speak, else the program's default when the pages speak it,
// else English.
func pageLanguage(header string, p *loyalty.Program) string {
	fallback := "en"
	if uiStrings.Speaks(p.DefaultLocale) {
		fallback = p.DefaultLocale
	}
	return uiStrings.Pick(header, fallback)
}
