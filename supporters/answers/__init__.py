"""One-tap answers from mail, without logging in (`/a/<token>`): confirm or decline a dispatch
request, apply for a follow-up course. The links are made by the reminder mails
(supporters.mail.links); this package registers what they may answer and answers them."""
