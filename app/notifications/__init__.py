"""Notifications (消息提醒): who is told of what, in the app, in 企业微信 / 钉钉 groups and by SMS.

The one entry point from the ticket timeline is ``app.notifications.pipeline.notify_for_event``.
Importing this package registers nothing.
"""
