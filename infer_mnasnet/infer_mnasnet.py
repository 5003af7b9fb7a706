"""Ikomia plugin entry point: the registry imports this module and asks `IkomiaPlugin` for factories."""

from ikomia import dataprocess


class IkomiaPlugin(dataprocess.CPluginProcessInterface):
    """Gives Ikomia the task, parameter and widget factories (imported lazily: the widget needs Qt)."""

    def __init__(self):
        dataprocess.CPluginProcessInterface.__init__(self)

    def get_process_factory(self):
        from infer_mnasnet.infer_mnasnet_process import InferMnasnetFactory

        return InferMnasnetFactory()

    def get_widget_factory(self):
        from infer_mnasnet.infer_mnasnet_widget import InferMnasnetWidgetFactory

        return InferMnasnetWidgetFactory()

    def get_param_factory(self):
        from infer_mnasnet.infer_mnasnet_process import InferMnasnetParamFactory

        return InferMnasnetParamFactory()
