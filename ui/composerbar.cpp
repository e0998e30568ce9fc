#include "ui/composerbar.h"

#include "common/message.h"
#include "ui/closebutton.h"
#include "ui/composer.h"
#include "ui/typography.h"

#include <QEvent>
#include <QFrame>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPainter>
#include <QPolygonF>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

#include <functional>

using namespace Qt::StringLiterals;

namespace Natter {

ComposerBar::ComposerBar(QWidget *parent)
    : QWidget(parent)
    , m_banner(new QFrame(this))
    , m_bannerLabel(new QLabel(m_banner))
    , m_composer(new Composer(this))
    , m_sendButton(new QPushButton(this))
    , m_attachButton(new QToolButton(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    m_banner->setObjectName(u"composerBanner"_s);
    auto *bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->setContentsMargins(14, 4, 12, 0);
    m_bannerLabel->setTextFormat(Qt::PlainText); // it quotes another person's words
    m_bannerLabel->setFont(scaledFont(m_bannerLabel->font(), TypeScale::Meta));
    m_bannerLabel->setForegroundRole(QPalette::PlaceholderText);
    bannerLayout->addWidget(m_bannerLabel, 1);
    QToolButton *cancel = makeCloseButton(tr("Cancel (Esc)"), tr("Cancel"), m_banner);
    cancel->setObjectName(u"cancelComposerMode"_s);
    connect(cancel, &QToolButton::clicked, this, &ComposerBar::cancelMode);
    bannerLayout->addWidget(cancel);
    m_banner->hide();
    layout->addWidget(m_banner);

    auto *row = new QHBoxLayout;
    row->setContentsMargins(12, 4, 12, 10);
    m_composer->setObjectName(u"composer"_s);
    m_sendButton->setObjectName(u"sendButton"_s);
    m_sendButton->setIcon(sendIcon(palette()));
    m_sendButton->setIconSize(QSize(fontMetrics().height(), fontMetrics().height()));
    m_sendButton->setAccessibleName(tr("Send"));
    m_sendButton->setToolTip(tr("Send (Enter). Shift+Enter starts a new line."));
    m_attachButton->setObjectName(u"attachButton"_s);
    m_attachButton->setIcon(attachIcon(palette()));
    m_attachButton->setIconSize(QSize(fontMetrics().height(), fontMetrics().height()));
    m_attachButton->setAutoRaise(true);
    m_attachButton->setAccessibleName(tr("Attach Files"));
    m_attachButton->setToolTip(tr("Attach files (or drop them here, or paste an image)"));
    connect(m_attachButton, &QToolButton::clicked, this, &ComposerBar::attachRequested);
    row->addWidget(m_attachButton, 0, Qt::AlignBottom);
    row->addWidget(m_composer, 1);
    row->addWidget(m_sendButton, 0, Qt::AlignBottom);
    layout->addLayout(row);

    connect(m_composer, &Composer::submitted, this, &ComposerBar::submit);
    connect(m_sendButton, &QPushButton::clicked, this, [this] {
        const QString text = m_composer->toPlainText();
        if (!text.trimmed().isEmpty())
            submit(text);
        m_composer->setFocus();
    });
    connect(m_composer, &Composer::editLastRequested, this, &ComposerBar::editLastRequested);
    connect(m_composer, &Composer::cancelled, this, &ComposerBar::cancelMode);
    connect(m_composer, &Composer::typingChanged, this, &ComposerBar::typingChanged);
    connect(m_composer, &Composer::filesPasted, this, &ComposerBar::filesAttached);
    connect(m_composer, &Composer::imagePasted, this, &ComposerBar::imagePasted);
}

ComposerBar::~ComposerBar() = default;

QByteArray ComposerBar::Draft::toJson() const
{
    QJsonObject mentions;
    for (auto it = mentioned.cbegin(); it != mentioned.cend(); ++it)
        mentions.insert(it.key(), it.value());
    const QJsonObject object{{u"text"_s, text},
                             {u"mode"_s, mode == Mode::Reply  ? u"reply"_s
                                         : mode == Mode::Edit ? u"edit"_s
                                                              : u"normal"_s},
                             {u"target"_s, target},
                             {u"reply_sender"_s, replySender},
                             {u"reply_text"_s, replyText},
                             {u"mentioned"_s, mentions}};
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

ComposerBar::Draft ComposerBar::Draft::fromJson(const QByteArray &json)
{
    const QJsonObject object = QJsonDocument::fromJson(json).object();
    Draft draft;
    draft.text = object.value(u"text"_s).toString();
    const QString mode = object.value(u"mode"_s).toString();
    draft.target = object.value(u"target"_s).toInteger();
    if (draft.target > 0)
        draft.mode = mode == u"reply"_s ? Mode::Reply : mode == u"edit"_s ? Mode::Edit : Mode::Normal;
    draft.replySender = object.value(u"reply_sender"_s).toString();
    draft.replyText = object.value(u"reply_text"_s).toString();
    const QJsonObject mentions = object.value(u"mentioned"_s).toObject();
    for (auto it = mentions.constBegin(); it != mentions.constEnd(); ++it)
        draft.mentioned.insert(it.key(), it.value().toString());
    return draft;
}

ComposerBar::Draft ComposerBar::draft() const
{
    Draft draft;
    draft.text = m_composer->toPlainText();
    draft.mode = m_mode;
    draft.target = m_target;
    if (m_mode == Mode::Reply) {
        draft.replySender = m_replySender;
        draft.replyText = m_replyText;
    }
    draft.mentioned = m_composer->mentioned();
    return draft;
}

void ComposerBar::restoreDraft(const Draft &draft)
{
    m_mode = Mode::Normal;
    m_target = 0;
    m_banner->hide();
    m_composer->restore(draft.text, draft.mentioned);
    if (draft.mode == Mode::Reply && draft.target > 0) {
        showReply(draft.target, draft.replySender, draft.replyText);
    } else if (draft.mode == Mode::Edit && draft.target > 0) {
        m_mode = Mode::Edit;
        m_target = draft.target;
        m_bannerLabel->setText(tr("Editing message · Enter saves, Esc cancels"));
        m_banner->show();
    }
}

void ComposerBar::showReply(qint64 id, const QString &sender, const QString &text)
{
    m_mode = Mode::Reply;
    m_target = id;
    m_replySender = sender;
    m_replyText = text;
    m_bannerLabel->setText(tr("Replying to %1: %2").arg(sender, Message::previewOf(text, 80)));
    m_banner->show();
}

void ComposerBar::startReply(qint64 id, const QString &sender, const QString &text)
{
    if (m_mode == Mode::Edit)
        m_composer->clear(); // the edited text is not the start of a reply
    showReply(id, sender, text);
    m_composer->setFocus(Qt::ShortcutFocusReason);
    Q_EMIT modeChanged();
}

void ComposerBar::startEdit(qint64 id, const QString &text, const QStringList &mentions)
{
    m_mode = Mode::Edit;
    m_target = id;
    m_bannerLabel->setText(tr("Editing message · Enter saves, Esc cancels"));
    m_banner->show();
    m_composer->setPlainText(text);
    m_composer->setMentionedEmails(mentions);
    m_composer->moveCursor(QTextCursor::End);
    m_composer->setFocus(Qt::ShortcutFocusReason);
    Q_EMIT modeChanged();
}

void ComposerBar::cancelMode()
{
    if (m_mode == Mode::Edit)
        m_composer->clear(); // the message stays as it was
    m_mode = Mode::Normal;
    m_target = 0;
    m_banner->hide();
    Q_EMIT modeChanged();
}

void ComposerBar::accepted()
{
    m_composer->clear();
    m_mode = Mode::Normal;
    m_target = 0;
    m_banner->hide();
    Q_EMIT modeChanged();
}

void ComposerBar::submit(const QString &text)
{
    if (m_mode == Mode::Edit)
        Q_EMIT editRequested(m_target, text, m_composer->mentions());
    else
        Q_EMIT sendRequested(text, m_mode == Mode::Reply ? m_target : 0, m_composer->mentions());
}

void ComposerBar::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::PaletteChange) {
        m_sendButton->setIcon(sendIcon(palette()));
        m_attachButton->setIcon(attachIcon(palette()));
    }
    QWidget::changeEvent(event);
}

namespace {

/// The desktop's themed icon where it has one; else one drawn at the usual sizes.
QIcon themedOrDrawn(const QString &name, const std::function<void(QPainter &, qreal)> &draw)
{
    const QIcon themed = QIcon::fromTheme(name);
    if (!themed.isNull())
        return themed;
    QIcon icon;
    for (const int size : {16, 24, 32, 48}) {
        QPixmap pixmap(size, size);
        pixmap.fill(Qt::transparent);
        QPainter painter(&pixmap);
        painter.setRenderHint(QPainter::Antialiasing);
        draw(painter, size);
        painter.end();
        icon.addPixmap(pixmap);
    }
    return icon;
}

} // namespace

QIcon ComposerBar::sendIcon(const QPalette &palette)
{
    // A paper plane in the theme's accent.
    return themedOrDrawn(u"document-send"_s, [&palette](QPainter &painter, qreal s) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(palette.color(QPalette::Highlight));
        painter.drawPolygon(
            QPolygonF{{s * 0.08, s * 0.12}, {s * 0.95, s * 0.5}, {s * 0.08, s * 0.88}, {s * 0.22, s * 0.5}});
    });
}

QIcon ComposerBar::attachIcon(const QPalette &palette)
{
    // A paperclip, leaning: an outer loop and an inner one.
    return themedOrDrawn(u"mail-attachment"_s, [&palette](QPainter &painter, qreal s) {
        painter.setPen(
            QPen(palette.color(QPalette::ButtonText), std::max(1.5, s / 14), Qt::SolidLine, Qt::RoundCap));
        painter.setBrush(Qt::NoBrush);
        painter.translate(s / 2, s / 2);
        painter.rotate(40);
        painter.drawRoundedRect(QRectF(-s * 0.16, -s * 0.42, s * 0.32, s * 0.8), s * 0.16, s * 0.16);
        painter.drawLine(QPointF(0, -s * 0.24), QPointF(0, s * 0.2));
    });
}

} // namespace Natter
