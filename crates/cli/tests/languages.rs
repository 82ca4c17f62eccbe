//! Languages (issue 9, item 5) against the real binary and maildev: e-mails
//! go out in the language their recipient used (a guest's per conversation,
//! from his first contact and his new-link requests; a member's from his
//! last sign-in), and the page shells are served in the language the
//! browser asks for, the `lang` cookie first.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use latchkey_client::{Delivery, Guest, Member};
use support::{unique, Database, Mail, MailServer, Server, Settings, PASSWORD};

/// What a German browser sends.
const GERMAN: &str = "de-DE,de;q=0.9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn languages_on_sqlite() {
    mails_in_the_recipients_language(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn languages_on_postgres() {
    mails_in_the_recipients_language(&Database::postgres().await).await;
}

fn assert_german_link(mail: &Mail, subject: &str) {
    assert_eq!(mail.subject, subject);
    assert!(
        mail.text
            .contains("Der Link öffnet das Gespräch in Ihrem Browser"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("lang=\"de\""), "{}", mail.html);
    assert!(mail.html.contains("Gespräch öffnen"), "{}", mail.html);
    assert!(mail.link().is_some(), "no link in {}", mail.text);
}

async fn mails_in_the_recipients_language(db: &Database) {
    let mail = MailServer::start().await;
    let server = Server::start(db, &mail, &Settings::default()).await;
    let run = unique("");
    let english = server.url.clone();
    let german = server.url.clone().with_language(GERMAN);
    let french = server.url.clone().with_language("fr");

    // Bernd registers from an English client and signs in from a German
    // one: his notices are German from then on. Anna the other way round,
    // signing in last from a French browser: no catalogue, English.
    let bernd_address = format!("bernd-{run}@member.test");
    let anna_address = format!("anna-{run}@member.test");
    Member::register(
        &english,
        "bernd",
        "Bernd",
        &bernd_address,
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let bernd = Member::login(&german, "bernd", PASSWORD.as_bytes())
        .await
        .unwrap();
    Member::register(&german, "anna", "Anna", &anna_address, PASSWORD.as_bytes())
        .await
        .unwrap();
    let anna = Member::login(&french, "anna", PASSWORD.as_bytes())
        .await
        .unwrap();

    // A German guest writes to Bernd: his link mail is German.
    let greta = format!("greta-{run}@guest.test");
    let (conversation, _) = Guest::contact(&german, "bernd", &greta, "Greta", "Hallo", None)
        .await
        .unwrap();
    let mails = mail.wait_for(&greta, 1).await;
    assert_german_link(&mails[0], "Ihre Nachricht ist bei Bernd angekommen");
    assert!(mails[0]
        .text
        .starts_with("Ihre Nachricht ist bei Bernd angekommen. Wenn Sie diesen Link öffnen"));

    // She replies; Bernd's notice is in his language.
    let guest = Guest::open(&german, mails[0].link().as_deref().unwrap(), &greta)
        .await
        .unwrap();
    guest.reply("Noch etwas").await.unwrap();
    let notices = mail.wait_for(&bernd_address, 1).await;
    assert_eq!(
        notices[0].subject,
        "Neue Nachricht in Ihrem latchkey-Posteingang"
    );
    assert!(
        notices[0]
            .text
            .starts_with("Ein Gast hat Ihnen geschrieben."),
        "{}",
        notices[0].text
    );

    // Bernd answers from an English client: the guest's mail follows the
    // guest's language, not the sender's.
    let bernd_in_english = Member::login(&english, "bernd", PASSWORD.as_bytes())
        .await
        .unwrap();
    bernd_in_english
        .send(&conversation, "Danke", Delivery::Email)
        .await
        .unwrap();
    let mails = mail.wait_for(&greta, 2).await;
    assert_german_link(&mails[1], "Neue Nachricht von Bernd");
    drop(bernd);

    // An English guest writes to Anna, who signed in from a French browser:
    // his mail and her notice are English.
    let tom = format!("tom-{run}@guest.test");
    let (toms, _) = Guest::contact(&english, "anna", &tom, "Tom", "Hello", None)
        .await
        .unwrap();
    let mails = mail.wait_for(&tom, 1).await;
    assert_eq!(mails[0].subject, "Your message to Anna");
    assert!(mails[0].html.contains("lang=\"en\""), "{}", mails[0].html);
    let guest = Guest::open(&english, mails[0].link().as_deref().unwrap(), &tom)
        .await
        .unwrap();
    guest.reply("More").await.unwrap();
    let notices = mail.wait_for(&anna_address, 1).await;
    assert_eq!(notices[0].subject, "New message in your latchkey inbox");

    // Tom asks for a new link from a German browser: it comes in German,
    // and so do his later mails.
    latchkey_client::request_link(&german, &tom, Some("anna"))
        .await
        .unwrap();
    assert_eq!(anna.fulfil_link_requests().await.unwrap(), 1);
    let mails = mail.wait_for(&tom, 2).await;
    assert_german_link(&mails[1], "Ihr neuer Link zum Gespräch mit Anna");

    // He opens it and writes from an English browser again: Anna's answer
    // reaches him in English.
    let guest = Guest::open(&english, mails[1].link().as_deref().unwrap(), &tom)
        .await
        .unwrap();
    guest.reply("Thanks").await.unwrap();
    anna.send(&toms, "Gern", Delivery::Email).await.unwrap();
    let mails = mail.wait_for(&tom, 3).await;
    assert_eq!(mails[2].subject, "New message from Anna");
    assert!(mails[2].html.contains("lang=\"en\""), "{}", mails[2].html);
}

/// The page shells in the browser's language: `<html lang>`, the injected
/// texts and the shell's own words; `Vary` so that caches keep one copy per
/// language; the switcher's cookie over `Accept-Language`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_in_the_browsers_language() {
    let mail = MailServer::start().await;
    let db = Database::sqlite();
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let http = reqwest::Client::new();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = http.get(format!("{}{path}", server.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let german = get("/open", &[("accept-language", GERMAN)]).await.unwrap();
    assert_eq!(german.status(), 200);
    assert_eq!(german.headers()["content-language"], "de");
    let vary: Vec<String> = german
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.contains("accept-language") && v.contains("cookie")),
        "{vary:?}"
    );
    let german_tag = german.headers()["etag"].to_str().unwrap().to_owned();
    let html = german.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("Wird geladen…"), "{html}");
    let texts = injected(&html);
    assert_eq!(texts["lang"], "de");
    assert!(texts["languages"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(["de", "Deutsch"])));
    let keys = texts["texts"].as_object().unwrap();
    assert!(
        keys.keys()
            .all(|k| k.starts_with("common.") || k.starts_with("guest.")),
        "{keys:?}"
    );

    // The English copy has another tag; each revalidates to 304 only with
    // its own.
    let english = get("/open", &[("accept-language", "en")]).await.unwrap();
    let english_tag = english.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(english_tag, german_tag);
    assert!(english.text().await.unwrap().contains("<html lang=\"en\">"));
    let again = get(
        "/open",
        &[("accept-language", GERMAN), ("if-none-match", &german_tag)],
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 304);
    let switched = get(
        "/open",
        &[("accept-language", "en"), ("if-none-match", &german_tag)],
    )
    .await
    .unwrap();
    assert_eq!(switched.status(), 200);

    // The switcher's cookie wins over the browser's languages.
    let html = get(
        "/m/bernd",
        &[("accept-language", GERMAN), ("cookie", "lang=en")],
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("Loading…"), "{html}");

    // A member page: its own texts, German on request.
    let html = get("/signin", &[("accept-language", "de")])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    let texts = injected(&html);
    assert!(texts["texts"]
        .as_object()
        .unwrap()
        .keys()
        .all(|k| k.starts_with("common.") || k.starts_with("member.")));
}

/// The server's own "not found" page chooses its language as the pages do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_not_found_page_in_the_browsers_language() {
    let mail = MailServer::start().await;
    let db = Database::sqlite();
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let http = reqwest::Client::new();
    for path in ["/no/such/page", "/assets/no-such-file.js"] {
        let answer = http
            .get(format!("{}{path}", server.base))
            .header("accept-language", GERMAN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);
        assert_eq!(answer.headers()["content-language"], "de");
        let html = answer.text().await.unwrap();
        assert!(html.contains("<html lang=\"de\">"), "{html}");
        assert!(
            html.contains("<h1>Unter dieser Adresse gibt es keine Seite</h1>"),
            "{html}"
        );
        let html = http
            .get(format!("{}{path}", server.base))
            .header("accept-language", GERMAN)
            .header("cookie", "lang=en")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("<h1>There is no page at this address</h1>"),
            "{html}"
        );
    }
}

/// The JSON of `<script type="application/json" id="texts">`.
fn injected(html: &str) -> serde_json::Value {
    let start = "<script type=\"application/json\" id=\"texts\">";
    let (_, rest) = html.split_once(start).expect("the texts script");
    let (json, _) = rest.split_once("</script>").unwrap();
    serde_json::from_str(json).unwrap()
}
