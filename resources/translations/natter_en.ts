<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
    <context>
        <name>Natter::AppController</name>
        <message numerus="yes">
            <source>%n other(s)</source>
            <translation>
                <numerusform>%n other</numerusform>
                <numerusform>%n others</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n other connection(s) use the chat you host.</source>
            <translation>
                <numerusform>%n other connection uses the chat you host.</numerusform>
                <numerusform>%n other connections use the chat you host.</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>Your %n unsent message(s) to the earlier chat will be discarded.</source>
            <translation>
                <numerusform>Your %n unsent message to the earlier chat will be discarded.</numerusform>
                <numerusform>Your %n unsent messages to the earlier chat will be discarded.</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%1 · %n online</source>
            <translation>
                <numerusform>%1 · %n online</numerusform>
                <numerusform>%1 · %n online</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n member(s) online</source>
            <translation>
                <numerusform>%n member online</numerusform>
                <numerusform>%n members online</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%1 — reconnecting in %n s…</source>
            <translation>
                <numerusform>%1 — reconnecting in %n s…</numerusform>
                <numerusform>%1 — reconnecting in %n s…</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n new message(s): %1</source>
            <translation>
                <numerusform>%n new message: %1</numerusform>
                <numerusform>%n new messages: %1</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::ChatClient</name>
        <message numerus="yes">
            <source>Stopped catching up on %1 after %n message(s): the server keeps sending more. Older messages may be missing here.</source>
            <translation>
                <numerusform>Stopped catching up on %1 after %n message: the server keeps sending more. Older messages may be missing here.</numerusform>
                <numerusform>Stopped catching up on %1 after %n messages: the server keeps sending more. Older messages may be missing here.</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::DirectoryDialog</name>
        <message numerus="yes">
            <source>active %n day(s) ago</source>
            <translation>
                <numerusform>active %n day ago</numerusform>
                <numerusform>active %n days ago</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n online</source>
            <translation>
                <numerusform>%n online</numerusform>
                <numerusform>%n online</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>Showing the first %n rooms: type more to narrow them down.</source>
            <translation>
                <numerusform>Showing the first %n rooms: type more to narrow them down.</numerusform>
                <numerusform>Showing the first %n rooms: type more to narrow them down.</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n room(s)</source>
            <translation>
                <numerusform>%n room</numerusform>
                <numerusform>%n rooms</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>Showing the first %n people: type more to narrow them down.</source>
            <translation>
                <numerusform>Showing the first %n people: type more to narrow them down.</numerusform>
                <numerusform>Showing the first %n people: type more to narrow them down.</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n person(s)</source>
            <translation>
                <numerusform>%n person</numerusform>
                <numerusform>%n people</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::ConversationView</name>
        <message numerus="yes">
            <source>@ %n mention(s)</source>
            <translation>
                <numerusform>@ %n mention</numerusform>
                <numerusform>@ %n mentions</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>↓ %n new · Jump to latest</source>
            <translation>
                <numerusform>↓ %n new · Jump to latest</numerusform>
                <numerusform>↓ %n new · Jump to latest</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::MessageDelegate</name>
        <message numerus="yes">
            <source>(and %n more)</source>
            <translation>
                <numerusform>(and %n more)</numerusform>
                <numerusform>(and %n more)</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n s left</source>
            <translation>
                <numerusform>%n s left</numerusform>
                <numerusform>%n s left</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n min left</source>
            <translation>
                <numerusform>%n min left</numerusform>
                <numerusform>%n min left</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n h left</source>
            <translation>
                <numerusform>%n h left</numerusform>
                <numerusform>%n h left</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::SearchPanel</name>
        <message numerus="yes">
            <source>%n result(s)</source>
            <translation>
                <numerusform>%n result</numerusform>
                <numerusform>%n results</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::TrayIcon</name>
        <message numerus="yes">
            <source>%n mention(s) of you</source>
            <translation>
                <numerusform>%n mention of you</numerusform>
                <numerusform>%n mentions of you</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>Natter — %n unread message(s)</source>
            <translation>
                <numerusform>Natter — %n unread message</numerusform>
                <numerusform>Natter — %n unread messages</numerusform>
            </translation>
        </message>
    </context>
    <context>
        <name>Natter::UploadSheet</name>
        <message numerus="yes">
            <source>Share %n File(s)</source>
            <translation>
                <numerusform>Share %n File</numerusform>
                <numerusform>Share %n Files</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>%n files · %1</source>
            <translation>
                <numerusform>%n file · %1</numerusform>
                <numerusform>%n files · %1</numerusform>
            </translation>
        </message>
        <message numerus="yes">
            <source>and %n more</source>
            <translation>
                <numerusform>and %n more</numerusform>
                <numerusform>and %n more</numerusform>
            </translation>
        </message>
    </context>
</TS>